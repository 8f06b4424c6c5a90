"use strict";
// The spec's "Getting started", end to end, as a new user runs it: scaffold an app with
// create-glion, `npm install` it, and run its CLIs against the library's test receiver.
//
// The receivers run in this process, so every child process is spawned asynchronously (a
// spawnSync would block the event loop that answers the messages).

const { test, after } = require("node:test");
const assert = require("node:assert/strict");
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");

const { startTestReceiver } = require("../lib/testing.cjs");
const { runProcess } = require("./helpers.js");

const REPO = path.resolve(__dirname, "..");
const CREATE = path.join(REPO, "create-glion", "index.js");
const EXAMPLE = path.join(REPO, "examples", "mllp-client");
const BUN = path.join(REPO, "node_modules", ".bin", "bun");
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "glion-e2e-"));
const APP = path.join(TMP, "my-mllp-client");

const receivers = [];
after(async () => {
  for (const receiver of receivers) await receiver.close();
  fs.rmSync(TMP, { recursive: true, force: true });
});

/** The environment without what an outer `npm test` sets (npm reads npm_config_* back). */
function cleanEnv() {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== "INIT_CWD") env[key] = value;
  }
  return env;
}

/** Run a command; resolves with its exit code, stdout and stderr (never rejects on exit code). */
function run(command, args, { cwd = TMP, timeout = 120_000 } = {}) {
  return runProcess(command, args, { cwd, env: cleanEnv(), limitMs: timeout, resolveOnTimeout: true });
}

/** What a failed command said, for assertion messages. */
function show(result) {
  return `exit ${result.code}${result.signal ? ` (${result.signal})` : ""}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

/** stdout of `npm run <script>` without npm's "> name@version script / > command" banner. */
function scriptOutput(stdout, script) {
  const banner = new RegExp(`^\\n?> my-mllp-client@0\\.1\\.0 ${script}\\n> [^\\n]*\\n\\n`);
  return stdout.replace(banner, "");
}

async function receiver(options = {}) {
  const r = await startTestReceiver({ host: "127.0.0.1", port: 0, ...options });
  receivers.push(r);
  return r;
}

/** A port on 127.0.0.1 with nothing listening: bound by the OS, then released. */
function closedPort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

let installed = false;
function requireInstall() {
  assert.ok(installed, "the app was not installed (see the `npm install` test)");
}

// --- the scaffolder ---------------------------------------------------------------------------

test("create-glion --help lists the examples and flags", async () => {
  const result = await run(process.execPath, [CREATE, "--help"]);
  assert.equal(result.code, 0, show(result));
  assert.match(result.stdout, /Usage: npm create glion@latest <dir>/);
  assert.match(result.stdout, /--example <name>/);
  assert.match(result.stdout, /--local <repo>/);
  assert.match(result.stdout, /^ {2}mllp-client \(default\)/m);
});

test("create-glion refuses an unknown example, creating nothing", async () => {
  const dir = path.join(TMP, "unknown-example");
  const result = await run(process.execPath, [CREATE, dir, "--example", "no-such-example"]);
  assert.equal(result.code, 1, show(result));
  assert.match(result.stderr, /unknown example "no-such-example"; available: mllp-client/);
  assert.equal(fs.existsSync(dir), false);
});

test("create-glion refuses a non-empty directory, leaving it untouched", async () => {
  const dir = path.join(TMP, "not-empty");
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, "notes.txt"), "mine\n");
  const result = await run(process.execPath, [CREATE, dir, "--example", "mllp-client"]);
  assert.equal(result.code, 1, show(result));
  assert.match(result.stderr, /is not empty/);
  assert.deepEqual(fs.readdirSync(dir), ["notes.txt"]);
});

test("create-glion refuses a missing <dir> and a --local that is not the repo", async () => {
  const missing = await run(process.execPath, [CREATE, "--example", "mllp-client"]);
  assert.equal(missing.code, 1, show(missing));
  assert.match(missing.stderr, /missing <dir>/);

  const dir = path.join(TMP, "bad-local");
  const badLocal = await run(process.execPath, [CREATE, dir, "--local", TMP]);
  assert.equal(badLocal.code, 1, show(badLocal));
  assert.match(badLocal.stderr, /--local .* is not the @glion\/mllp-client package/);
  assert.equal(fs.existsSync(dir), false);
});

test("the packed create-glion carries the examples and scaffolds with ^0.1.0 dependencies", async () => {
  const packDir = path.join(TMP, "pack");
  fs.mkdirSync(packDir);
  const pack = await run(NPM, ["pack", "--json", "--pack-destination", packDir], { cwd: path.join(REPO, "create-glion") });
  assert.equal(pack.code, 0, show(pack));
  assert.equal(fs.existsSync(path.join(REPO, "create-glion", "templates")), false, "postpack removes templates/");
  const [{ filename, files }] = JSON.parse(pack.stdout);
  const packed = files.map((f) => f.path);
  for (const file of ["index.js", "templates/mllp-client/package.json", "templates/mllp-client/src/send.ts", "templates/mllp-client/_gitignore"]) {
    assert.ok(packed.includes(file), `${file} is in the tarball: ${packed.join(", ")}`);
  }

  const untar = await run("tar", ["xzf", path.join(packDir, filename), "-C", packDir]);
  assert.equal(untar.code, 0, show(untar));
  const dir = path.join(TMP, "from-npm");
  const result = await run(process.execPath, [path.join(packDir, "package", "index.js"), dir, "--example", "mllp-client"]);
  assert.equal(result.code, 0, show(result));
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  assert.equal(pkg.name, "from-npm");
  assert.equal(pkg.dependencies["@glion/mllp-client"], "^0.1.0");
  assert.equal(pkg.dependencies["@glion/ack"], "^0.1.0");
  assert.ok(fs.existsSync(path.join(dir, ".gitignore")), "_gitignore is renamed back to .gitignore");
  assert.equal(fs.existsSync(path.join(dir, "_gitignore")), false);
  assert.equal(
    fs.readFileSync(path.join(dir, "src", "send.ts"), "utf8"),
    fs.readFileSync(path.join(EXAMPLE, "src", "send.ts"), "utf8"),
  );
});

// --- Getting started, step 1: npm create glion my-mllp-client -- --example mllp-client ------------

test("create-glion my-mllp-client --example mllp-client scaffolds the app", async () => {
  // Run where the app goes, with the directory name as a user types it.
  const result = await run(process.execPath, [CREATE, "my-mllp-client", "--example", "mllp-client"], { cwd: TMP });
  assert.equal(result.code, 0, show(result));
  assert.ok(
    result.stdout.includes("Next steps:\n  cd my-mllp-client\n  npm install\n  npm run send -- --sample adt-a01\n"),
    result.stdout,
  );

  const pkg = JSON.parse(fs.readFileSync(path.join(APP, "package.json"), "utf8"));
  assert.equal(pkg.name, "my-mllp-client");
  assert.equal(pkg.private, true);
  assert.equal(pkg.type, "module");
  // Run from this checkout: the Glion packages are the local ones, so the install is offline.
  assert.equal(pkg.dependencies["@glion/mllp-client"], `file:${REPO}`);
  assert.equal(pkg.dependencies["@glion/ack"], `file:${path.join(REPO, "ack")}`);
  assert.deepEqual(Object.keys(pkg.scripts).sort(), ["receive", "send", "stream", "typecheck"]);

  for (const file of ["tsconfig.json", ".gitignore", "README.md", "src/send.ts", "src/stream.ts", "src/receive.ts", "src/args.ts"]) {
    assert.ok(fs.existsSync(path.join(APP, file)), `${file} was copied`);
  }
  assert.deepEqual(fs.readdirSync(path.join(APP, "samples")).sort(), ["adt-a01.hl7", "orm-o01.hl7", "oru-r01.hl7", "siu-s12.hl7"]);
  assert.equal(fs.existsSync(path.join(APP, "node_modules")), false);
});

// --- step 2: cd my-mllp-client && npm install ----------------------------------------------------

test("npm install in the new app", { timeout: 10 * 60_000 }, async () => {
  // --ignore-scripts: the file: link makes npm run the checkout's `prepare` (a cargo rebuild
  // of the addon, rewriting the .node file other tests have loaded); the addon is built.
  const result = await run(
    NPM,
    ["install", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts"],
    { cwd: APP, timeout: 9 * 60_000 },
  );
  assert.equal(result.code, 0, show(result));
  assert.equal(fs.realpathSync(path.join(APP, "node_modules", "@glion", "mllp-client")), fs.realpathSync(REPO));
  assert.ok(fs.existsSync(path.join(APP, "node_modules", ".bin", "tsx")), "tsx is installed");
  installed = true;
});

// --- step 3: npm run send -- --sample adt-a01 ----------------------------------------------------

/** The ACK as a person reads it: one segment per line. */
const readable = (raw) => raw.split("\r").filter(Boolean).join("\n");

test("npm run send -- --sample adt-a01 prints the ACK one segment per line, then code=AA controlId=MSG00001", { timeout: 120_000 }, async () => {
  requireInstall();
  const r = await receiver();
  const result = await run(NPM, ["run", "send", "--", "--sample", "adt-a01", "--port", String(r.port)], { cwd: APP });
  assert.equal(result.code, 0, show(result));
  assert.equal(r.received.length, 1);
  const sent = fs.readFileSync(path.join(APP, "samples", "adt-a01.hl7"), "utf8");
  assert.equal(r.received[0].message, sent);
  const [raw] = r.received[0].acks;
  assert.match(raw, /\rMSA\|AA\|MSG00001$/);
  // the exact bytes written to stdout: no CR that would make a terminal draw MSA over MSH
  const out = scriptOutput(result.stdout, "send");
  assert.equal(out, `${readable(raw)}\ncode=AA controlId=MSG00001\n`);
  assert.ok(!out.includes("\r"), "no CR on stdout");
  assert.deepEqual(out.split("\n").slice(1, 3), ["MSA|AA|MSG00001", "code=AA controlId=MSG00001"]);
});

test("in a pseudo-terminal (script), the screen shows MSA|AA|MSG00001 and code=AA controlId=MSG00001 on lines of their own", { timeout: 120_000 }, async (t) => {
  requireInstall();
  const which = await run("sh", ["-c", "command -v script"]);
  if (which.code !== 0) {
    t.skip("util-linux `script` is not installed: no pseudo-terminal to run the app in");
    return;
  }
  const r = await receiver();
  const command = `node launch.mjs src/send.ts --sample adt-a01 --port ${r.port}`;
  const result = await run("script", ["-q", "-e", "-c", command, "/dev/null"], { cwd: APP });
  assert.equal(result.code, 0, show(result));
  // a terminal turns each LF into CR LF; a bare CR (the ACK's own separator) would overwrite
  const screen = result.stdout.split("\r\n");
  assert.ok(!screen.some((line) => line.includes("\r")), `a line is overwritten on screen: ${JSON.stringify(result.stdout)}`);
  assert.ok(screen.includes("MSA|AA|MSG00001"), JSON.stringify(screen));
  assert.ok(screen.includes("code=AA controlId=MSG00001"), JSON.stringify(screen));
  assert.match(screen[0], /^MSH\|\^~\\&\|RECEIVER\|FACILITY\|SENDER\|FACILITY\|/);
});

test("npm run send against a receiver answering AE: exit 1, code, MSA-3, ERR-3 and ERR-4 on stderr", { timeout: 120_000 }, async () => {
  requireInstall();
  const r = await receiver({ reply: () => ({ code: "AE", text: "Patient not found", errorCode: "204", severity: "E" }) });
  const result = await run(NPM, ["run", "send", "--", "--sample", "oru-r01", "--port", String(r.port)], { cwd: APP });
  assert.equal(result.code, 1, show(result));
  assert.equal(scriptOutput(result.stdout, "send"), "");
  assert.match(result.stderr, /^NAK AE \(AckApplicationError: /m);
  assert.match(result.stderr, /text \(MSA-3\): Patient not found\n/);
  assert.match(result.stderr, /errorCode \(ERR-3\): 204 {2}severity \(ERR-4\): E\n/);
  assert.match(result.stderr, /controlId \(MSA-2\): MSG00002\n/);
  // and the raw NAK, one segment per line
  const [raw] = r.received[0].acks;
  assert.ok(result.stderr.includes(`  raw NAK:\n${readable(raw).replace(/^/gm, "    ")}\n`), result.stderr);
  assert.match(result.stderr, /^ {4}MSA\|AE\|MSG00002\|Patient not found$/m);
  assert.match(result.stderr, /^ {4}ERR\|\|\|204\^Patient not found\^HL70357\|E$/m);
});

test("npm run send to a closed port: exit 2 and CONNECTION_REFUSED on stderr", { timeout: 120_000 }, async () => {
  requireInstall();
  const port = await closedPort();
  const result = await run(NPM, ["run", "send", "--", "--sample", "adt-a01", "--port", String(port)], { cwd: APP });
  assert.equal(result.code, 2, show(result));
  assert.equal(scriptOutput(result.stdout, "send"), "");
  assert.match(result.stderr, /^MllpClientError CONNECTION_REFUSED: /m);
  assert.match(result.stderr, /npm run receive/);
});

test("npm run send with bad flags: exit 64 and the usage", { timeout: 120_000 }, async () => {
  requireInstall();
  const unknownSample = await run(NPM, ["run", "send", "--", "--sample", "adt-a99"], { cwd: APP });
  assert.equal(unknownSample.code, 64, show(unknownSample));
  assert.match(unknownSample.stderr, /unknown sample "adt-a99"; samples: adt-a01, orm-o01, oru-r01, siu-s12/);
  const badPort = await run(NPM, ["run", "send", "--", "--port", "70000"], { cwd: APP });
  assert.equal(badPort.code, 64, show(badPort));
  assert.match(badPort.stderr, /--port must be an integer from 1 to 65535/);
  const help = await run(NPM, ["run", "send", "--", "--help"], { cwd: APP });
  assert.equal(help.code, 0, show(help));
  for (const flag of ["--sample <name>", "--file <path>", "--host <host>", "--port <port>", "--tls"]) {
    assert.ok(help.stdout.includes(flag), `--help lists ${flag}`);
  }
  assert.match(help.stdout, /^ {2}adt-a01 +ADT\^A01\^ADT_A01 +controlId=MSG00001$/m);
  assert.match(help.stdout, /^ {2}siu-s12 +SIU\^S12\^SIU_S12 +controlId=MSG00004$/m);
});

test("npm run stream against an enhanced-mode receiver prints CA, then AA", { timeout: 120_000 }, async () => {
  requireInstall();
  const r = await receiver({ mode: "enhanced", delay: 100 });
  const result = await run(NPM, ["run", "stream", "--", "--port", String(r.port)], { cwd: APP });
  assert.equal(result.code, 0, show(result));
  assert.equal(scriptOutput(result.stdout, "stream"), "CA controlId=MSG00001\nAA controlId=MSG00001\n");
});

test("npm run stream against an enhanced-mode receiver answering AR: CA, then exit 1 with the NAK", { timeout: 120_000 }, async () => {
  requireInstall();
  const r = await receiver({ mode: "enhanced", reply: () => ({ code: "AR", text: "Unsupported message type", errorCode: "200", severity: "E" }) });
  const result = await run(NPM, ["run", "stream", "--", "--sample", "siu-s12", "--port", String(r.port)], { cwd: APP });
  assert.equal(result.code, 1, show(result));
  assert.equal(scriptOutput(result.stdout, "stream"), "CA controlId=MSG00004\n");
  assert.match(result.stderr, /^NAK AR \(/m);
  assert.match(result.stderr, /text \(MSA-3\): Unsupported message type\n/);
  assert.match(result.stderr, /errorCode \(ERR-3\): 200 {2}severity \(ERR-4\): E\n/);
});

test("npm run receive answers npm run send, and closes on SIGTERM", { timeout: 120_000 }, async () => {
  requireInstall();
  const port = await closedPort();
  // Run the script's command directly (not through npm and sh) so that the signal reaches it.
  const child = spawn(process.execPath, ["launch.mjs", "src/receive.ts", "--port", String(port)], {
    cwd: APP,
    env: cleanEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
  try {
    const deadline = Date.now() + 30_000;
    while (!stdout.includes("listening on") && Date.now() < deadline && child.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.match(stdout, new RegExp(`listening on 127\\.0\\.0\\.1:${port} \\(original mode, answering AA\\)`), stderr);

    const sent = await run(NPM, ["run", "send", "--", "--sample", "orm-o01", "--port", String(port)], { cwd: APP });
    assert.equal(sent.code, 0, show(sent));
    assert.match(scriptOutput(sent.stdout, "send"), /\ncode=AA controlId=MSG00003\n$/);
    assert.match(stdout, /ORM\^O01\^ORM_O01 {2}controlId=MSG00003 {2}from 127\.0\.0\.1:\d+ {2}-> AA\n/);
  } finally {
    child.kill("SIGTERM");
  }
  const { code } = await exited;
  assert.equal(code, 0, `receive exits 0 on SIGTERM\n${stdout}\n${stderr}`);
  assert.match(stdout, /SIGTERM: receiver closed after 1 message\(s\)\./);
});

test("npm run typecheck passes", { timeout: 300_000 }, async () => {
  requireInstall();
  const result = await run(NPM, ["run", "typecheck"], { cwd: APP, timeout: 280_000 });
  assert.equal(result.code, 0, show(result));
});

test("bun run send --sample adt-a01 runs on Bun (no tsx) and prints the same lines", { timeout: 120_000 }, async (t) => {
  requireInstall();
  if (!fs.existsSync(BUN)) {
    t.skip(`Bun is not installed at ${path.relative(REPO, BUN)} (the repo's bun devDependency)`);
    return;
  }
  const r = await receiver();
  // tsx moved away: only Bun itself can run the .ts now (under Node the launcher needs tsx)
  const tsx = path.join(APP, "node_modules", "tsx");
  const hidden = path.join(APP, "node_modules", ".tsx-hidden");
  fs.renameSync(tsx, hidden);
  let result;
  let underNode;
  try {
    result = await run(BUN, ["run", "send", "--sample", "adt-a01", "--port", String(r.port)], { cwd: APP });
    underNode = await run(process.execPath, ["launch.mjs", "src/send.ts", "--sample", "adt-a01", "--port", String(r.port)], { cwd: APP });
  } finally {
    fs.renameSync(hidden, tsx);
  }
  assert.equal(result.code, 0, show(result));
  const [raw] = r.received[0].acks;
  assert.equal(result.stdout, `${readable(raw)}\ncode=AA controlId=MSG00001\n`);
  assert.notEqual(underNode.code, 0, "without tsx, Node cannot run the .ts: so the send above ran on Bun");
  assert.equal(r.received.length, 1);
});

/** Start the app's receiver (node launch.mjs src/receive.ts ...); resolves once it listens or exits. */
async function startAppReceiver(args) {
  const child = spawn(process.execPath, ["launch.mjs", "src/receive.ts", ...args], { cwd: APP, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
  const out = { stdout: "", stderr: "", child };
  child.stdout.setEncoding("utf8").on("data", (chunk) => (out.stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk) => (out.stderr += chunk));
  out.exited = new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
  const deadline = Date.now() + 30_000;
  while (!out.stdout.includes("listening on") && child.exitCode === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return out;
}

test("npm run receive: a client that leaves after the CA is logged as such, not as `CA, then AA`", { timeout: 120_000 }, async () => {
  requireInstall();
  const port = await closedPort();
  const rx = await startAppReceiver(["--port", String(port), "--enhanced", "--delay", "500"]);
  try {
    assert.match(rx.stdout, /answering CA, then AA/, rx.stderr);
    const { MllpClient } = require("../index.cjs");
    const client = new MllpClient({ host: "127.0.0.1", port, tls: false, ackTimeout: 5000 });
    const message = fs.readFileSync(path.join(APP, "samples", "adt-a01.hl7"));
    for await (const ack of client.stream(message)) {
      assert.equal(ack.code, "CA");
      break; // leave after the CA
    }
    const codes = [];
    for await (const ack of client.stream(message)) codes.push(ack.code); // stays for both
    assert.deepEqual(codes, ["CA", "AA"]);
    const deadline = Date.now() + 10_000;
    while (rx.stdout.split("-> ").length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const lines = rx.stdout.split("\n").filter((line) => line.includes("-> "));
    assert.equal(lines.length, 2, rx.stdout);
    assert.match(lines[0], /controlId=MSG00001 {2}from 127\.0\.0\.1:\d+ {2}-> CA \(the client left before the AA\)$/);
    assert.match(lines[1], /controlId=MSG00001 {2}from 127\.0\.0\.1:\d+ {2}-> CA, then AA$/);
  } finally {
    rx.child.kill("SIGTERM");
    await rx.exited;
  }
});

test("npm run receive on a port in use: one clear message (not doubled), exit 2", { timeout: 120_000 }, async () => {
  requireInstall();
  const busy = await receiver();
  const rx = await startAppReceiver(["--port", String(busy.port)]);
  const { code } = await rx.exited;
  assert.equal(code, 2, rx.stdout + rx.stderr);
  assert.equal(rx.stderr.split("cannot listen on").length - 1, 1, rx.stderr);
  assert.match(rx.stderr, new RegExp(`^error: cannot listen on 127\\.0\\.0\\.1:${busy.port}: .*in use`, "mi"));
  assert.match(rx.stderr, /another receiver running on port \d+\? Stop it, or pick another one with --port/);
});

test("create-glion from a fresh clone (no root npm install, no addon) says exactly what to run first", async () => {
  // A fresh clone as far as create-glion can tell: the files, no node_modules, no .node addon.
  const clone = path.join(TMP, "fresh-clone");
  for (const part of ["package.json", "create-glion", "examples", path.join("ack", "package.json")]) {
    fs.cpSync(path.join(REPO, part), path.join(clone, part), { recursive: true, filter: (src) => !src.includes("node_modules") });
  }
  const result = await run(process.execPath, [path.join(clone, "create-glion", "index.js"), "fresh-app"], { cwd: TMP });
  assert.equal(result.code, 0, show(result));
  assert.match(result.stdout, /That checkout is not installed yet \(no node_modules or no built addon\): run `npm install` in .*fresh-clone first\./);
  assert.ok(
    result.stdout.includes("Next steps:\n  (cd fresh-clone && npm install)   # once: installs the checkout and builds its native addon (cargo)\n  cd fresh-app\n  npm install\n"),
    result.stdout,
  );
  // from this (installed) checkout the extra step is not there
  const installed = await run(process.execPath, [CREATE, "installed-app"], { cwd: TMP });
  assert.ok(installed.stdout.includes("Next steps:\n  cd installed-app\n"), installed.stdout);
});
