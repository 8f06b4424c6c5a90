"use strict";
// `npm test`: every suite, each with its own runner, then one closing count.
//   fmt, clippy, lint   gates: cargo fmt --check, cargo clippy -D warnings (default features and
//                       none), biome lint (JS); each fails the run when it reports anything
//   cargo test          Rust core: codec, ACK parser, message checks (+ the JSON vectors)
//   cargo check         the addon without the event-loop path (the macOS/Windows build)
//   node --test         __test__/ and ack/test/ against real loopback sockets
//   node-tokio          the client files again with GLION_MLLP_IO=tokio (the other I/O path)
//   further suites (bun, deno, workers) are listed in SUITES when their runtime is present;
//   `binary` (the release workflow's per-platform test) runs only when named.
// A suite whose runner is missing fails loudly: .ci/run installs everything.

const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..");
const bin = (name) => path.join(root, "node_modules", ".bin", name);
const only = process.argv.slice(2);

const nodeTests = () => [
  ...fs.readdirSync(path.join(root, "__test__")).filter((f) => f.endsWith(".test.js")).map((f) => `__test__/${f}`),
  ...fs.readdirSync(path.join(root, "ack", "test")).filter((f) => f.endsWith(".test.js")).map((f) => `ack/test/${f}`),
];

// Under Bun, every node:test file runs unchanged except these (reason beside each).
const NOT_UNDER_BUN = {
  "__test__/e2e-example.test.js": "drives npm and runs `bun run send` itself; it is the Bun quick-start check",
  "__test__/pack.test.js": "packs and installs the package, then runs the snippet under Node, Bun and Deno itself",
  "__test__/workers.test.js": "runs workerd through Miniflare, a Node tool; the Worker, not the host, is under test",
  "__test__/outbox-crash.test.js": "kill -9 of child processes: the store and delivery loop are the same under Bun, where outbox.test.js runs",
  "__test__/outbox-postgres.test.js": "starts a PostgreSQL server and child processes: the same npm pg code runs under Bun as under Node; outbox.test.js runs there",
};

// Run a second time with GLION_MLLP_IO=tokio (the node-tokio suite).
const TOKIO_AGAIN = ["send.test.js", "charsets.test.js", "diagnostics.test.js", "pool.test.js", "hostile.test.js", "shutdown.test.js", "exit.test.js", "interop.test.js", "send-paths.test.js", "engine-defects.test.js", "edges.test.js", "stream.test.js"];

// The `binary` suite: what the release workflow runs against each platform's prebuilt addon
// (on its OS, CPU and C library, with only Node there: no cargo, bun or deno).
const BINARY = [...TOKIO_AGAIN, "tls.test.js", "install.test.js"];

/** Links the Deno suite's node_modules to this checkout (Deno resolves npm names there). */
function linkDenoModules() {
  const dir = path.join(root, "__test__", "deno", "node_modules");
  const links = { "@glion/mllp-client": root, "@glion/ack": path.join(root, "ack"), "@types/node": path.join(root, "node_modules", "@types", "node") };
  for (const [name, target] of Object.entries(links)) {
    const at = path.join(dir, name);
    fs.mkdirSync(path.dirname(at), { recursive: true });
    fs.rmSync(at, { recursive: true, force: true });
    fs.symlinkSync(path.relative(path.dirname(at), target), at);
  }
}

/**
 * A Python with PyPI hl7 for the interop receiver (__test__/interop.test.js): a venv under
 * node_modules/.cache, made on the first run, so `npm test` needs nothing but Python 3 from
 * the machine. Returns the environment the node suites get: GLION_PYTHON, the venv's
 * interpreter, or GLION_PYTHON_MISSING, why there is none (the interop test then skips and
 * prints it).
 */
function provisionPython() {
  const venv = path.join(root, "node_modules", ".cache", "glion-python");
  const python = path.join(venv, ...(process.platform === "win32" ? ["Scripts", "python.exe"] : ["bin", "python"]));
  const hasHl7 = () => spawnSync(python, ["-c", "import hl7.mllp"], { stdio: "ignore" }).status === 0;
  if (hasHl7()) return { GLION_PYTHON: python };
  const system = ["python3", "python"].find((name) => /^Python 3\./.test(spawnSync(name, ["--version"], { encoding: "utf8" }).stdout ?? ""));
  if (!system) return { GLION_PYTHON_MISSING: "no Python 3 on PATH (python3 or python)" };
  console.log(`=== provisioning ${path.relative(root, venv)}: ${system} -m venv, pip install ${PYPI_HL7}`);
  fs.rmSync(venv, { recursive: true, force: true });
  for (const [cmd, args] of [[system, ["-m", "venv", venv]], [python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", PYPI_HL7]]]) {
    const run = spawnSync(cmd, args, { stdio: "inherit" });
    if (run.status !== 0) return { GLION_PYTHON_MISSING: `\`${path.basename(cmd)} ${args.join(" ")}\` failed (${run.error?.message ?? `exit ${run.status}`})` };
  }
  return hasHl7() ? { GLION_PYTHON: python } : { GLION_PYTHON_MISSING: `${PYPI_HL7} installed but \`import hl7.mllp\` fails` };
}

let provisioned;
/** provisionPython() once per run, when the first suite that runs the interop test starts. */
function pythonEnv() {
  if (!provisioned) {
    provisioned = provisionPython();
    console.log(provisioned.GLION_PYTHON ? `interop receiver: ${provisioned.GLION_PYTHON}` : `interop receiver: SKIPPED: ${provisioned.GLION_PYTHON_MISSING}`);
  }
  return provisioned;
}

// The interop receiver's library; the version the interop test's ACK pattern was written against.
const PYPI_HL7 = "hl7==0.4.5";

const tsconfigs = () => fs.readdirSync(path.join(root, "__test__", "types")).filter((f) => /^tsconfig\..*\.json$/.test(f));

const SUITES = [
  // Gates: each fails the run when it reports anything.
  { name: "fmt", cmd: "cargo", args: ["fmt", "--check"], gate: true },
  { name: "clippy", cmd: "cargo", args: ["clippy", "--quiet", "--all-targets", "--", "-D", "warnings"], gate: true },
  {
    name: "clippy-no-default-features",
    cmd: "cargo",
    args: ["clippy", "--quiet", "--all-targets", "--no-default-features", "--", "-D", "warnings"],
    gate: true,
  },
  // Biome's linter (biome.jsonc); warnings fail too.
  { name: "lint", cmd: bin("biome"), args: ["lint", "--error-on-warnings", "."], gate: true },
  {
    name: "cargo",
    cmd: "cargo",
    args: ["test", "--no-default-features", "--quiet"],
    count: (out) => sum(out, /test result: \w+\. (\d+) passed; (\d+) failed/g),
  },
  {
    // The addon as macOS and Windows build it (no event-loop path, see src/binding/no_loop.rs):
    // it must keep compiling although this machine only runs the Linux build.
    name: "cargo-no-event-loop",
    cmd: "cargo",
    args: ["check", "--no-default-features", "--features", "node", "--quiet"],
    count: (out) => (/^error/m.test(out) ? [0, 1] : [1, 0]),
  },
  {
    name: "node",
    cmd: process.execPath,
    env: () => pythonEnv(),
    // A hung test fails after 5 minutes instead of stalling CI.
    args: ["--test", "--test-concurrency=2", "--test-timeout=300000", ...nodeTests()],
    count: (out) => [last(out, /^# pass (\d+)/gm), last(out, /^# fail (\d+)/gm)],
  },
  {
    // The client files again with every send on the tokio runtime. On Node, plain-TCP sends
    // to an IP address run on Node's own event loop (src/binding/loop_client.rs); without
    // this run the tokio path would meet these receivers only under Bun and Deno.
    name: "node-tokio",
    cmd: process.execPath,
    env: () => ({ ...pythonEnv(), GLION_MLLP_IO: "tokio" }),
    args: ["--test", "--test-concurrency=2", "--test-timeout=300000", ...TOKIO_AGAIN.map((f) => `__test__/${f}`)],
    count: (out) => [last(out, /^# pass (\d+)/gm), last(out, /^# fail (\d+)/gm)],
  },
  {
    name: "binary",
    optIn: true, // only when named: `node scripts/test.js binary`
    cmd: process.execPath,
    env: () => pythonEnv(),
    args: ["--test", "--test-concurrency=2", "--test-timeout=300000", ...BINARY.map((f) => `__test__/${f}`)],
    count: (out) => [last(out, /^# pass (\d+)/gm), last(out, /^# fail (\d+)/gm)],
  },
  {
    name: "bun",
    cmd: bin("bun"),
    env: () => pythonEnv(),
    args: ["test", "--timeout=60000", ...nodeTests().filter((f) => !(f in NOT_UNDER_BUN)).map((f) => `./${f}`)],
    count: (out) => [last(out, /^ *(\d+) pass$/gm), last(out, /^ *(\d+) fail$/gm)],
  },
  {
    name: "deno",
    cmd: bin("deno"),
    cwd: path.join(root, "__test__", "deno"),
    before: linkDenoModules,
    // --allow-write: outbox.test.ts makes a temporary directory for its SQLite file.
    args: ["test", "--node-modules-dir=manual", "--allow-read", "--allow-ffi", "--allow-net", "--allow-env", "--allow-write", "."],
    // biome-ignore lint/suspicious/noControlCharactersInRegex: strips Deno's ANSI colour codes
    count: (out) => sum(out.replace(/\x1b\[[0-9;]*m/g, ""), /ok \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/g),
  },
  {
    name: "types",
    cmd: process.execPath,
    args: ["-e", `
      const { spawnSync } = require("node:child_process");
      let passed = 0, failed = 0;
      for (const config of ${JSON.stringify(tsconfigs())}) {
        const run = spawnSync(${JSON.stringify(bin("tsc"))}, ["-p", "__test__/types/" + config], { stdio: "inherit" });
        console.log((run.status === 0 ? "ok " : "not ok ") + "tsc -p __test__/types/" + config);
        run.status === 0 ? passed++ : failed++;
      }
      console.log("types: " + passed + " passed, " + failed + " failed");
      process.exitCode = failed ? 1 : 0;`],
    count: (out) => sum(out, /types: (\d+) passed, (\d+) failed/g),
  },
];

function sum(out, re) {
  let passed = 0, failed = 0;
  for (const m of out.matchAll(re)) {
    passed += Number(m[1]);
    failed += Number(m[2]);
  }
  return [passed, failed];
}

function last(out, re) {
  const all = [...out.matchAll(re)];
  return all.length ? Number(all[all.length - 1][1]) : 0;
}

let passed = 0, failed = 0;
const results = [];
for (const suite of SUITES) {
  if (only.length ? !only.includes(suite.name) : suite.optIn) continue;
  console.log(`\n=== ${suite.name}: ${[path.basename(suite.cmd), ...suite.args].join(" ")}`);
  suite.before?.();
  const run = spawnSync(suite.cmd, suite.args, { cwd: suite.cwd ?? root, encoding: "utf8", maxBuffer: 256 * 1024 * 1024, env: { ...process.env, ...(typeof suite.env === "function" ? suite.env() : suite.env) } });
  const out = `${run.stdout ?? ""}${run.stderr ?? ""}`;
  process.stdout.write(out);
  if (run.error) console.log(`${suite.name}: cannot run: ${run.error.message}`);
  let [p, f] = suite.gate ? (run.status === 0 ? [1, 0] : [0, 1]) : suite.count(out);
  if (run.status !== 0 && f === 0) f = 1; // a crash or a runner error counts as a failure
  if (p === 0 && f === 0) f = 1; // a suite that ran nothing is a failure too
  passed += p;
  failed += f;
  results.push(`${suite.name}: ${p} passed, ${f} failed${run.status === 0 ? "" : ` (exit ${run.status ?? run.signal})`}`);
}

console.log("\n=== summary");
for (const line of results) console.log(line);
console.log(`total: ${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
