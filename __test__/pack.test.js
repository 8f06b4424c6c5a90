"use strict";
// The package as users install it (README, "Install"): `npm pack` of @glion/mllp-client,
// @glion/ack and this machine's platform package (npm/<platform>/ with the built addon), the
// tarballs installed into a new project with no cargo on PATH, and the spec's snippet (send
// one message to a test receiver, print the ACK) run in Node (ESM and CommonJS), Bun and Deno
// (with and without --no-config); then the same with the package linked by `file:`, as
// `create-glion --local` does. The receiver runs in this process, so every child process is
// spawned asynchronously.

const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const esbuild = require("esbuild");

const { startTestReceiver } = require("../lib/testing.cjs");
const { currentPlatform, platformOfTriple } = require("../lib/addon.cjs");
const { runProcess, pathWithoutCargo } = require("./helpers.js");
const { currentAddons } = require("../scripts/build-if-needed.js");

const REPO = path.resolve(__dirname, "..");
const PKG = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8"));
const BUN = path.join(REPO, "node_modules", ".bin", "bun");
const DENO = path.join(REPO, "node_modules", ".bin", "deno");
const TSC = path.join(REPO, "node_modules", ".bin", "tsc");
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
const PLATFORM = currentPlatform();
const ADDON = `mllp-client.${PLATFORM}.node`;

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "glion-pack-"));
const TARBALLS = path.join(TMP, "tarballs");

/**
 * The environment of a user's shell: no cargo on PATH (nothing may build from source), and
 * nothing an outer `npm test` sets (npm reads npm_config_* back).
 */
function userEnv() {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== "INIT_CWD") env[key] = value;
  }
  env.PATH = pathWithoutCargo();
  return env;
}

function run(command, args, { cwd, limitMs = 120_000 } = {}) {
  return runProcess(command, args, { cwd, env: userEnv(), limitMs, resolveOnTimeout: true });
}

function show(result) {
  return `exit ${result.code}${result.signal ? ` (${result.signal})` : ""}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

/** `npm pack` of a folder (no lifecycle scripts: nothing may build); resolves with the tarball's path and file list. */
async function pack(dir) {
  const result = await run(NPM, ["pack", "--json", "--ignore-scripts", "--pack-destination", TARBALLS], { cwd: dir });
  assert.equal(result.code, 0, show(result));
  const [{ filename, files }] = JSON.parse(result.stdout);
  return { tarball: path.join(TARBALLS, filename), files: files.map((f) => f.path).sort() };
}

const SNIPPET_BODY = `
const client = new MllpClient({ host: "127.0.0.1", port: Number(process.env.MLLP_PORT), tls: false });
const message = [
  "MSH|^~\\\\&|SENDER|FACILITY|RECEIVER|FACILITY|20260510120000||ADT^A01^ADT_A01|MSG00001|P|2.5",
  "EVN|A01|20260510120000",
  "PID|1||PATID1234^^^FACILITY^MR||DOE^JOHN^M||19800101|M",
].join("\\r");
const ack = await client.send(message);
console.log(ack.raw);
console.log(\`code=\${ack.code} controlId=\${ack.controlId}\`);
`;

// Each entry's types, checked where a user's project resolves them (errors would fail tsc).
const TYPES_SNIPPET = `
import { MllpClient, MllpClientError, AckApplicationError, type Ack } from "@glion/mllp-client/node";
import { MllpClient as DenoClient } from "@glion/mllp-client/deno";
import { startTestReceiver, type TestReceiverOptions } from "@glion/mllp-client/testing";
import type { MllpClient as WorkersClient } from "@glion/mllp-client/workers";
import { AckException } from "@glion/ack";
const options: TestReceiverOptions = { port: 0 };
const receiver = await startTestReceiver(options);
const client: MllpClient = new DenoClient({ host: "127.0.0.1", port: receiver.port, tls: false });
const ack: Ack = await client.send("MSH|^~\\\\&|A|B|C|D|20260510120000||ADT^A01|MSG00001|P|2.5");
const code: string = ack.code;
const error: unknown = new MllpClientError("x", { code: "INVALID_INPUT" });
const isAck: boolean = error instanceof AckApplicationError || error instanceof AckException;
declare const workers: WorkersClient;
await receiver.close();
export { code, isAck, workers };
`;

// Every entry, by import and by require(), must hand out the very same class objects.
const SAME_CLASSES = `
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const reference = await import("@glion/mllp-client");
const entries = {
  "import @glion/mllp-client/node": await import("@glion/mllp-client/node"),
  "import @glion/mllp-client/deno": await import("@glion/mllp-client/deno"),
  "import @glion/mllp-client/testing": await import("@glion/mllp-client/testing"),
  "require @glion/mllp-client": require("@glion/mllp-client"),
  "require @glion/mllp-client/node": require("@glion/mllp-client/node"),
  "require @glion/mllp-client/testing": require("@glion/mllp-client/testing"),
  "import @glion/ack": await import("@glion/ack"),
  "require @glion/ack": require("@glion/ack"),
};
const names = ["MllpClient", "MllpClientError", "AckException", "AckApplicationError", "AckApplicationReject", "AckCommitError", "AckCommitReject", "AckParseError"];
const different = [];
for (const [entry, exports] of Object.entries(entries)) {
  for (const name of names) {
    if (entry.includes("@glion/ack") && name.startsWith("Mllp")) continue;
    if (typeof reference[name] !== "function" || exports[name] !== reference[name]) different.push(name + " from " + entry);
  }
}
console.log(different.length ? "different: " + different.join(", ") : "one class object per type: " + names.length + " names, " + Object.keys(entries).length + " entries");
`;

/** The spec's snippet per module format and runtime import, written into a project. */
function writeSnippets(project) {
  fs.writeFileSync(path.join(project, "same-classes.mjs"), SAME_CLASSES);
  fs.writeFileSync(path.join(project, "send.mjs"), `import { MllpClient } from "@glion/mllp-client/node";\n${SNIPPET_BODY}`);
  fs.writeFileSync(path.join(project, "send-deno.mjs"), `import { MllpClient } from "@glion/mllp-client/deno";\n${SNIPPET_BODY}`);
  fs.writeFileSync(path.join(project, "send.cjs"), `const { MllpClient } = require("@glion/mllp-client");\n(async () => {${SNIPPET_BODY}})();\n`);
}

const DENO_RUN = ["run", "--allow-read", "--allow-ffi", "--allow-net", "--allow-env", "--node-modules-dir=manual"];
const RUNS = [
  ["Node ESM", process.execPath, ["send.mjs"]],
  ["Node CommonJS", process.execPath, ["send.cjs"]],
  ["Bun ESM", BUN, ["send.mjs"]],
  ["Bun CommonJS", BUN, ["send.cjs"]],
  ["Deno", DENO, [...DENO_RUN, "send-deno.mjs"]],
  ["Deno --no-config", DENO, [...DENO_RUN, "--no-config", "send-deno.mjs"]],
];

const SAME_CLASSES_RUNS = [
  ["Node", process.execPath, ["same-classes.mjs"]],
  ["Bun", BUN, ["same-classes.mjs"]],
  ["Deno", DENO, [...DENO_RUN, "same-classes.mjs"]],
  ["Deno --no-config", DENO, [...DENO_RUN, "--no-config", "same-classes.mjs"]],
];

/**
 * Each runtime runs the snippet in `project` against a fresh test receiver (AA for
 * MSG00001), then checks that every entry hands out the same classes.
 */
async function runSnippets(t, project) {
  writeSnippets(project);
  await t.test("types: tsc (NodeNext) and deno check resolve every entry's declarations", async () => {
    fs.writeFileSync(path.join(project, "types.mts"), TYPES_SNIPPET);
    fs.writeFileSync(path.join(project, "tsconfig.json"), JSON.stringify({
      compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, skipLibCheck: false, types: [] },
      files: ["types.mts"],
    }));
    for (const [command, args] of [[TSC, ["-p", "tsconfig.json"]], [DENO, ["check", "--node-modules-dir=manual", "types.mts"]], [DENO, ["check", "--node-modules-dir=manual", "--no-config", "types.mts"]]]) {
      const result = await runProcess(command, args, { cwd: project, env: userEnv(), limitMs: 120_000, resolveOnTimeout: true });
      assert.equal(result.code, 0, `${path.basename(command)} ${args.join(" ")}: ${show(result)}`);
    }
  });
  await t.test("esbuild (as wrangler bundles a Worker): @glion/mllp-client/workers bundles from the .mjs and .cjs files", async () => {
    fs.writeFileSync(path.join(project, "worker.mjs"), `import { MllpClient, MllpClientError, AckException } from "@glion/mllp-client/workers";\nexport default { MllpClient, MllpClientError, AckException };\n`);
    const result = await esbuild.build({
      absWorkingDir: project, entryPoints: ["worker.mjs"], bundle: true, keepNames: true, format: "esm", platform: "browser",
      conditions: ["workerd", "worker", "browser"], external: ["cloudflare:*"], write: false, metafile: true, logLevel: "silent",
    });
    const inputs = Object.keys(result.metafile.inputs).map((file) => file.split(path.sep).join("/"));
    for (const needed of ["lib/workers.mjs", "lib/errors.cjs", "lib/options.cjs", "ack/index.cjs", "ack/wire.cjs"]) {
      assert.ok(inputs.some((input) => input.endsWith(needed)), `${needed} is bundled (inputs: ${inputs.join(", ")})`);
    }
    assert.doesNotMatch(result.outputFiles[0].text, /\brequire\(|from ["']node:/, "no require() or node: import left for workerd");
  });
  for (const [name, command, args] of SAME_CLASSES_RUNS) {
    await t.test(`${name}: one class object per type across entries, import and require()`, async () => {
      const result = await runProcess(command, args, { cwd: project, env: userEnv(), limitMs: 60_000, resolveOnTimeout: true });
      assert.equal(result.code, 0, show(result));
      assert.equal(result.stdout, "one class object per type: 8 names, 8 entries\n", show(result));
    });
  }
  for (const [name, command, args] of RUNS) {
    await t.test(name, async () => {
      const receiver = await startTestReceiver({ host: "127.0.0.1", port: 0 });
      try {
        const result = await runProcess(command, args, { cwd: project, env: { ...userEnv(), MLLP_PORT: String(receiver.port) }, limitMs: 60_000, resolveOnTimeout: true });
        assert.equal(result.code, 0, show(result));
        assert.match(result.stdout, /\rMSA\|AA\|MSG00001\r?\n/, show(result));
        assert.match(result.stdout, /\ncode=AA controlId=MSG00001\n$/, show(result));
        assert.equal(receiver.received.length, 1);
        assert.match(receiver.received[0].message, /^MSH\|.*\|MSG00001\|P\|2\.5\rEVN\|/);
      } finally {
        await receiver.close();
      }
    });
  }
}

const packed = {};

before(async () => {
  assert.ok(fs.existsSync(path.join(REPO, ADDON)), `${ADDON} is built (npm install builds it)`);
  fs.mkdirSync(TARBALLS, { recursive: true });
  packed.main = await pack(REPO);
  packed.ack = await pack(path.join(REPO, "ack"));
  // The platform package as the release workflow fills it: npm/<platform>/ plus the addon.
  const platformDir = path.join(TMP, "platform");
  fs.cpSync(path.join(REPO, "npm", PLATFORM), platformDir, { recursive: true });
  fs.copyFileSync(path.join(REPO, ADDON), path.join(platformDir, ADDON));
  packed.platform = await pack(platformDir);
});

after(() => fs.rmSync(TMP, { recursive: true, force: true }));

test("pack: the main tarball holds the entries, the loader and lib/; no addon, target/, tests, benches or sources", () => {
  const { files } = packed.main;
  for (const needed of ["package.json", "README.md", "index.cjs", "index.mjs", "index.d.ts", "binding.cjs", "binding.d.ts", "lib/addon.cjs", "lib/errors.cjs", "lib/native-client.cjs", "lib/options.cjs", "lib/ack-result.cjs", "lib/testing.cjs", "lib/testing.mjs", "lib/testing.d.ts", "lib/workers.mjs", "lib/workers.d.ts", "bin/mllp.js", "samples/adt-a01.hl7"]) {
    assert.ok(files.includes(needed), `${needed} is packed`);
  }
  for (const file of files) {
    assert.doesNotMatch(file, /^(target|__test__|tests|test|bench|fuzz|src|npm|scripts|examples|create-glion|ack|node_modules|docs)\//, `${file} must not be packed`);
    assert.doesNotMatch(file, /\.(node|rs|tgz)$|^Cargo\.|^build\.rs$/, `${file} must not be packed`);
  }
  // Every file an export or the bin names is in the tarball.
  const targets = Object.values(PKG.exports).flatMap((entry) => (typeof entry === "string" ? [entry] : Object.values(entry)));
  for (const target of [...targets, PKG.main, PKG.types, ...Object.values(PKG.bin)]) {
    assert.ok(files.includes(target.replace(/^\.\//, "")), `${target} (exports, main, types or bin) is packed`);
  }
});

test("pack: @glion/ack holds its CommonJS, ESM and type files, no tests", () => {
  assert.deepEqual(packed.ack.files, ["README.md", "charsets.cjs", "index.cjs", "index.d.ts", "index.mjs", "package.json", "wire.cjs", "wire.d.ts", "wire.mjs"]);
});

test("pack: the platform package holds the addon and nothing else that runs", () => {
  assert.deepEqual(packed.platform.files.filter((f) => f !== "README.md"), [ADDON, "package.json"]);
});

test("installed from the tarballs (as published, no cargo on PATH): the snippet runs in Node, Bun and Deno", async (t) => {
  // The main package as `napi prepublish` publishes it: one optionalDependency per platform
  // package. The project maps this machine's to its tarball (`overrides`); the others fail
  // to resolve offline and, being optional, are skipped, as npm skips other platforms'.
  const published = path.join(TMP, "published");
  fs.mkdirSync(published);
  const untar = await run("tar", ["-xzf", packed.main.tarball, "-C", published]);
  assert.equal(untar.code, 0, show(untar));
  const manifest = path.join(published, "package", "package.json");
  const pkg = JSON.parse(fs.readFileSync(manifest, "utf8"));
  pkg.optionalDependencies = Object.fromEntries(PKG.napi.targets.map((triple) => [`@glion/mllp-client-${platformOfTriple(triple)}`, PKG.version]));
  fs.writeFileSync(manifest, JSON.stringify(pkg, null, 2));
  const main = await pack(path.join(published, "package"));

  const project = path.join(TMP, "installed");
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({
    name: "installed",
    private: true,
    dependencies: { "@glion/mllp-client": `file:${main.tarball}`, "@glion/ack": `file:${packed.ack.tarball}` },
    overrides: { [`@glion/mllp-client-${PLATFORM}`]: `file:${packed.platform.tarball}` },
  }, null, 2));
  const install = await run(NPM, ["install", "--offline", "--no-audit", "--no-fund"], { cwd: project });
  assert.equal(install.code, 0, show(install));
  const installed = path.join(project, "node_modules", "@glion");
  assert.ok(fs.existsSync(path.join(installed, `mllp-client-${PLATFORM}`, ADDON)), "the platform package is installed");
  assert.deepEqual(fs.readdirSync(path.join(installed, "mllp-client")).filter((f) => f.endsWith(".node")), [], "the main package carries no addon");

  await runSnippets(t, project);
});

test("linked by file: (create-glion --local), no cargo on PATH: the snippet runs in Node, Bun and Deno", async (t) => {
  // npm runs the linked checkout's `prepare`, which rebuilds an addon older than the Rust
  // sources (with cargo); a checkout that `npm install` or `npm run build` built has none.
  assert.ok(currentAddons(), "the checkout's addon is newer than its Rust sources (run `npm run build`)");
  const project = path.join(TMP, "linked");
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({
    name: "linked",
    private: true,
    dependencies: { "@glion/mllp-client": `file:${REPO}`, "@glion/ack": `file:${path.join(REPO, "ack")}` },
  }, null, 2));
  const install = await run(NPM, ["install", "--offline", "--no-audit", "--no-fund"], { cwd: project });
  assert.equal(install.code, 0, show(install));
  assert.equal(fs.realpathSync(path.join(project, "node_modules", "@glion", "mllp-client")), fs.realpathSync(REPO), "a link to the checkout");

  await runSnippets(t, project);
});
