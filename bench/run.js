#!/usr/bin/env node
"use strict";
// The benchmark runner for @glion/mllp-client (issue 7). See README.md.
//
//   cd bench && npm install && npm run bench      # full run (about 10 minutes)
//   node run.js --quick                           # smoke run (under a minute once built)
//
// Options: --quick, --reps N, --seconds S, --cases id,id, --clients id,id, --no-build,
//          --no-pin, --wait-quiet S (wait up to S s for other processes to go idle first;
//          default 180, 0 with --quick), --out DIR (default: results), --render (only
//          rewrite latest.md, chart.svg and the README section from DIR/latest.json).
//
// It builds native/ (bench-receiver, bench-client) with CARGO_TARGET_DIR=<repo>/target/bench,
// makes a throwaway CA + server certificate there with openssl, generates the 8 MiB message
// there, then for each case starts one bench-receiver on 127.0.0.1 and runs every client in
// its own child process, each case at least twice. Writes results/latest.md, latest.json and
// chart.svg. Only processes it started are stopped, by PID; every child has a deadline.

const { spawn, spawnSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const readline = require("node:readline");

const BENCH = __dirname;
const ROOT = path.resolve(BENCH, "..");
const TARGET = path.join(ROOT, "target", "bench");
const BIN = path.join(TARGET, "release");
const CERTS = path.join(TARGET, "certs");
const MESSAGES = {
  oru: path.join(ROOT, "samples", "oru-r01.hl7"),
  mdm8: path.join(TARGET, "mdm-t02-8mib.hl7"),
};
const EIGHT_MIB = 8 * 1024 * 1024;
const MB = 1e6;

// ---------------------------------------------------------------------------------------
// Options

function parseArgs(argv) {
  const o = { quick: false, reps: null, seconds: null, cases: null, clients: null, build: true, pin: true, waitQuiet: null, out: path.join(BENCH, "results") };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) die(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--quick") o.quick = true;
    else if (a === "--reps") o.reps = Number(value());
    else if (a === "--seconds") o.seconds = Number(value());
    else if (a === "--cases") o.cases = value().split(",");
    else if (a === "--clients") o.clients = value().split(",");
    else if (a === "--no-build") o.build = false;
    else if (a === "--no-pin") o.pin = false;
    else if (a === "--wait-quiet") o.waitQuiet = Number(value());
    else if (a === "--render") o.render = true;
    else if (a === "--out") o.out = path.resolve(value());
    else if (a === "--help" || a === "-h") {
      process.stdout.write(fs.readFileSync(__filename, "utf8").split("\n").slice(2, 10).map((l) => l.replace(/^\/\/ ?/, "")).join("\n") + "\n");
      process.exit(0);
    } else die(`unknown argument ${a} (try --help)`);
  }
  o.reps ??= o.quick ? 1 : 3;
  o.seconds ??= o.quick ? 0.3 : 5;
  o.waitQuiet ??= o.quick ? 0 : 180;
  return o;
}

function die(message) {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(1);
}

function log(message) {
  process.stderr.write(`${message}\n`);
}

// ---------------------------------------------------------------------------------------
// Cases and clients

/** Counts are the upper bound per run; `seconds` (5, or 0.3 with --quick) is the other. */
const CASES = [
  { id: "per-message-c1", title: "Connection per message, concurrency 1 (client on CPU 0, receiver on CPU 1)", short: "per-msg c=1", mode: "per-message", concurrency: 1, message: "oru", placement: "split", count: 30000 },
  { id: "per-message-c1-shared", title: "Connection per message, concurrency 1 (client and receiver on CPU 0)", short: "per-msg c=1 1cpu", mode: "per-message", concurrency: 1, message: "oru", placement: "shared", count: 30000 },
  { id: "per-message-c32", title: "Connection per message, concurrency 32", short: "per-msg c=32", mode: "per-message", concurrency: 32, message: "oru", placement: "free", count: 60000 },
  { id: "persistent-c1", title: "Persistent connections (`pool`), concurrency 1 (client on CPU 0, receiver on CPU 1)", short: "pool c=1", mode: "persistent", concurrency: 1, message: "oru", placement: "split", count: 200000 },
  { id: "persistent-c1-shared", title: "Persistent connections (`pool`), concurrency 1 (client and receiver on CPU 0)", short: "pool c=1 1cpu", mode: "persistent", concurrency: 1, message: "oru", placement: "shared", count: 200000 },
  { id: "persistent-c32", title: "Persistent connections (`pool`), concurrency 32 (32 connections)", short: "pool c=32", mode: "persistent", concurrency: 32, message: "oru", placement: "free", count: 300000 },
  { id: "large-8mib", title: "One 8 MiB message (MDM^T02, base64 OBX-5), connection per message, concurrency 1", short: "8 MiB", mode: "per-message", concurrency: 1, message: "mdm8", placement: "split", count: 400 },
  { id: "enhanced-c1", title: "Enhanced mode (CA then AA; ours: `client.stream()`), connection per message, concurrency 1", short: "enhanced c=1", mode: "per-message", concurrency: 1, message: "oru", placement: "split", count: 30000, enhanced: true },
  { id: "tls-c1", title: "TLS (CA-verified, servername localhost), connection per message, concurrency 1", short: "TLS c=1", mode: "per-message", concurrency: 1, message: "oru", placement: "split", count: 20000, tls: true },
];

/**
 * Where the client and the receiver run (`taskset`): `split` pins the client to CPU 0 and
 * the receiver to CPU 1; `shared` pins both to CPU 0, so every wake-up of one is a context
 * switch away from the other, and a client's CPU time per message decides its rate; `free`
 * lets the scheduler place both on the 2 CPUs (the concurrency-32 cases).
 */
const PLACEMENT = { split: { client: 0, receiver: 1 }, shared: { client: 0, receiver: 0 }, free: { client: null, receiver: null } };

/**
 * kind: node (clients/<id>.js through clients/worker.js), python (clients/python_hl7.py) or
 * rust (native bench-client). role: ours | floor | peer | limit | diag.
 */
const CLIENTS = [
  { id: "glion", kind: "node", role: "ours", label: "@glion/mllp-client (ours)" },
  { id: "glion-bytes", kind: "node", role: "diag", label: "ours, message as bytes", cases: ["large-8mib"] },
  { id: "node-net", kind: "node", role: "floor", label: "node:net hand-written (floor)" },
  { id: "node-hl7-client", kind: "node", role: "peer", pkg: "node-hl7-client" },
  { id: "simple-hl7", kind: "node", role: "peer", pkg: "simple-hl7" },
  { id: "medplum-hl7", kind: "node", role: "peer", pkg: "@medplum/hl7" },
  { id: "python-hl7", kind: "python", role: "peer", label: "PyPI hl7 MLLPClient", supports: { perMessage: true, persistent: true, enhanced: false, tls: false } },
  { id: "rust", kind: "rust", role: "limit", impl: "bare", label: "bare Rust tokio (limit)", supports: { perMessage: true, persistent: true, enhanced: true, tls: true } },
  { id: "rust-core", kind: "rust", role: "diag", impl: "core", label: "our Rust core, no napi/JS", supports: { perMessage: true, persistent: false, enhanced: true, tls: true } },
];

/** A run during which other processes used more than this (% of one CPU) is "disturbed". */
const DISTURBED_PCT = 25;
/** Extra runs per client and case to replace disturbed ones. */
const EXTRA_RUNS = 2;

// ---------------------------------------------------------------------------------------
// Preparation: build, certificates, messages, availability

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", ...options });
  return { ok: r.status === 0, status: r.status, stdout: r.stdout || "", stderr: (r.stderr || "") + (r.error ? String(r.error) : "") };
}

function buildNative(opts) {
  const env = { ...process.env, CARGO_TARGET_DIR: TARGET };
  const manifest = path.join(BENCH, "native", "Cargo.toml");
  const have = ["bench-receiver", "bench-client"].every((b) => fs.existsSync(path.join(BIN, b)));
  if (!opts.build) {
    if (!have) die(`--no-build, but ${BIN}/bench-receiver or bench-client is missing`);
    return { core: run(path.join(BIN, "bench-client"), ["--impl", "core", "--port", "1", "--message", MESSAGES.oru, "--count", "0"]).stderr.includes("feature") ? "built without the core feature" : null };
  }
  log(`building native/ (cargo build --release, CARGO_TARGET_DIR=${path.relative(process.cwd(), TARGET) || TARGET}) ...`);
  let r = run("cargo", ["build", "--release", "--manifest-path", manifest], { env, stdio: ["ignore", "ignore", "pipe"] });
  if (r.ok) return { core: null };
  // The core crate is built from the working tree; if it does not compile right now, the
  // bare client and the receiver still can.
  const why = r.stderr.split("\n").filter((l) => /^error/.test(l)).slice(0, 3).join("; ") || r.stderr.slice(-400);
  log(`  build with the core crate failed (${why}); retrying without it (rust-core is skipped)`);
  r = run("cargo", ["build", "--release", "--manifest-path", manifest, "--no-default-features"], { env, stdio: ["ignore", "ignore", "pipe"] });
  if (!r.ok) die(`cannot build native/:\n${r.stderr.slice(-2000)}`);
  return { core: `the core crate did not compile: ${why}` };
}

function makeCerts() {
  const files = ["ca.pem", "server.pem", "server.key"].map((f) => path.join(CERTS, f));
  const fresh = files.every((f) => fs.existsSync(f) && Date.now() - fs.statSync(f).mtimeMs < 20 * 86400e3);
  if (fresh) return null;
  fs.mkdirSync(CERTS, { recursive: true });
  const ext = path.join(CERTS, "server.ext");
  fs.writeFileSync(ext, "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n");
  const c = (f) => path.join(CERTS, f);
  const steps = [
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", c("ca.key"), "-out", c("ca.pem"), "-days", "30", "-subj", "/CN=glion-bench throwaway CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
    ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", c("server.key"), "-out", c("server.csr"), "-subj", "/CN=localhost"],
    ["x509", "-req", "-in", c("server.csr"), "-CA", c("ca.pem"), "-CAkey", c("ca.key"), "-CAcreateserial", "-out", c("server.pem"), "-days", "30", "-extfile", ext],
  ];
  for (const args of steps) {
    const r = run("openssl", args);
    if (!r.ok) return `openssl ${args[0]} failed: ${r.stderr.trim().split("\n").pop()}`;
  }
  return null;
}

/** One MDM^T02 of exactly 8 MiB (with a 12-character MSH-10), OBX-5 = base64 of PRNG bytes. */
function makeEightMiB(file) {
  if (fs.existsSync(file) && fs.statSync(file).size === EIGHT_MIB) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const doc = "^Attending^PATEL^ANITA^R^^DR^^^NPI";
  const head = (pad) =>
    [
      "MSH|^~\\&|DICTATION|GHH|EPIC|GHH|20260510160500-0500||MDM^T02^MDM_T02|B00000000000|P|2.5|||AL|NE",
      "EVN|T02|20260510160500-0500",
      "PID|1||PATID1234^^^GHH^MR||DOE^JOHN^M^^^^L||19800101|M",
      `TXA|1|DS^Discharge Summary^HL70270|AP|20260510155800-0500|1234567890${doc}||||||||DOC20260510-0008${"X".repeat(pad)}||||scan.pdf|AU||AV`,
      "OBX|1|ED|18842-5^Discharge summary^LN||^AP^PDF^Base64^",
    ].join("\r");
  const tail = "||||||F|||20260510155800-0500\r";
  const room = EIGHT_MIB - head(0).length - tail.length;
  const b64len = Math.floor(room / 4) * 4;
  const raw = Buffer.alloc((b64len / 4) * 3);
  let x = 0x4d444d38; // xorshift32, seeded: the file is the same on every machine
  for (let i = 0; i < raw.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    raw[i] = x & 0xff;
  }
  const text = head(room - b64len) + raw.toString("base64") + tail;
  if (text.length !== EIGHT_MIB) throw new Error(`8 MiB message is ${text.length} bytes`);
  fs.writeFileSync(file, text, "latin1");
}

function versionOf(pkg) {
  try {
    return JSON.parse(fs.readFileSync(path.join(BENCH, "node_modules", pkg, "package.json"), "utf8")).version;
  } catch {
    return null;
  }
}

/** Which clients can run here, with their `supports`; the reason for each one that cannot. */
function checkClients(native) {
  for (const c of CLIENTS) {
    c.unavailable = null;
    if (c.kind === "node") {
      try {
        const adapter = require(path.join(BENCH, "clients", `${c.id}.js`));
        c.supports = adapter.supports;
      } catch (error) {
        c.unavailable = c.pkg ? `${c.pkg} is not installed (cd bench && npm install)` : `cannot load: ${String(error.message).split("\n")[0]}`;
        c.supports = {};
      }
      if (c.pkg) c.label = `${c.pkg} ${versionOf(c.pkg) ?? "?"}`;
    } else if (c.kind === "python") {
      const r = run("python3", ["-c", "import hl7.client, importlib.metadata as m; print(m.version('hl7'))"]);
      if (r.ok) c.label = `PyPI hl7 ${r.stdout.trim()} MLLPClient`;
      else if (r.status === null) c.unavailable = "python3 is not installed";
      else if (r.stderr.includes("No module named")) c.unavailable = "the PyPI package hl7 is not installed (pip install hl7)";
      else c.unavailable = `python3 cannot import hl7.client: ${r.stderr.trim().split("\n").pop()}`;
    } else if (c.impl === "core" && native.core) {
      c.unavailable = native.core;
    }
  }
}

const ADDON = path.join(ROOT, "mllp-client.linux-x64-gnu.node");

/** Which build of the addon a run of ours loaded (it may be rebuilt while the runner runs). */
function addonStamp() {
  try {
    const st = fs.statSync(ADDON);
    return `${st.mtime.toISOString()} ${st.size} B`;
  } catch {
    return "missing";
  }
}

function machine() {
  const cpuinfo = fs.existsSync("/proc/cpuinfo") ? fs.readFileSync("/proc/cpuinfo", "utf8") : "";
  const model = (/model name\s*:\s*(.*)/.exec(cpuinfo) || [])[1] || os.cpus()[0]?.model || "?";
  const nproc = run("nproc", []).stdout.trim() || String(os.availableParallelism?.() ?? os.cpus().length);
  const git = run("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"]).stdout.trim();
  const dirty = run("git", ["-C", ROOT, "status", "--porcelain", "--untracked-files=no"]).stdout.trim() !== "";
  const addon = path.join(ROOT, "mllp-client.linux-x64-gnu.node");
  return {
    nproc: Number(nproc),
    cpu: model.trim(),
    memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    rustc: run("rustc", ["--version"]).stdout.trim(),
    python: run("python3", ["--version"]).stdout.trim() || run("python3", ["--version"]).stderr.trim(),
    commit: git ? `${git}${dirty ? " (with uncommitted changes)" : ""}` : "?",
    addon: fs.existsSync(addon) ? `${path.basename(addon)} built ${fs.statSync(addon).mtime.toISOString()}` : "missing",
    taskset: run("taskset", ["--version"]).ok,
  };
}

// ---------------------------------------------------------------------------------------
// Background load: the machine's busy CPU time (/proc/stat) minus what the benchmark's own
// processes used is what other processes took while a client ran.

const USER_HZ = 100;

function busySeconds() {
  try {
    const f = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest is inside user)
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / USER_HZ;
  } catch {
    return null;
  }
}

function selfCpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** CPUs' worth of busy time over `ms` of wall time, all processes. */
async function sampleBusy(ms) {
  const b0 = busySeconds();
  const s0 = selfCpuSeconds();
  await new Promise((r) => setTimeout(r, ms));
  const b1 = busySeconds();
  if (b0 === null || b1 === null) return 0;
  return Math.max(0, b1 - b0 - (selfCpuSeconds() - s0)) / (ms / 1000);
}

async function waitQuiet(limitS, { quiet = false, sampleMs = 2000 } = {}) {
  let load = await sampleBusy(sampleMs);
  if (load < 0.15 || limitS <= 0) return load;
  if (!quiet) log(`other processes use ${(load * 100).toFixed(0)}% of a CPU; waiting up to ${limitS} s for the machine to settle (--wait-quiet) ...`);
  const until = Date.now() + limitS * 1000;
  while (Date.now() < until) {
    load = await sampleBusy(Math.max(sampleMs, 1000));
    if (load < 0.15) break;
  }
  if (!quiet) log(`  background load now ${(load * 100).toFixed(0)}% of a CPU`);
  return load;
}

// ---------------------------------------------------------------------------------------
// The receiver

class Receiver {
  constructor(proc) {
    this.proc = proc;
    this.lines = readline.createInterface({ input: proc.stdout });
    this.waiting = [];
    this.buffered = [];
    this.lines.on("line", (line) => (this.waiting.length ? this.waiting.shift()(line) : this.buffered.push(line)));
    this.exited = new Promise((resolve) => proc.on("exit", resolve));
    this.stderr = "";
    proc.stderr.on("data", (d) => (this.stderr = (this.stderr + d).slice(-4000)));
  }

  static async start(args, pinCpu) {
    const bin = path.join(BIN, "bench-receiver");
    const [cmd, argv] = pinCpu === null ? [bin, args] : ["taskset", ["-c", String(pinCpu), bin, ...args]];
    const r = new Receiver(spawn(cmd, argv, { stdio: ["pipe", "pipe", "pipe"] }));
    const first = await r.line(5000);
    const m = /^LISTENING (\d+)$/.exec(first || "");
    if (!m) {
      r.kill();
      throw new Error(`bench-receiver did not start: ${first ?? ""} ${r.stderr}`);
    }
    r.port = Number(m[1]);
    return r;
  }

  line(timeoutMs) {
    if (this.buffered.length) return Promise.resolve(this.buffered.shift());
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = this.waiting.filter((w) => w !== done);
        resolve(null);
      }, timeoutMs);
      const done = (line) => {
        clearTimeout(timer);
        resolve(line);
      };
      this.waiting.push(done);
    });
  }

  async stats() {
    this.proc.stdin.write("stats\n");
    const line = await this.line(5000);
    return line ? JSON.parse(line) : null;
  }

  /** End of stdin makes it print its last stats line and exit; it is killed (by PID) if not. */
  async stop() {
    this.proc.stdin.end();
    const last = await this.line(3000);
    const timer = setTimeout(() => this.kill(), 3000);
    await this.exited;
    clearTimeout(timer);
    return last ? JSON.parse(last) : null;
  }

  kill() {
    try {
      process.kill(this.proc.pid, "SIGKILL");
    } catch {}
  }
}

// ---------------------------------------------------------------------------------------
// One client run in its own process

function clientCommand(client, kase, port, opts) {
  const count = opts.quick ? Math.max(20, Math.round(kase.count / 50)) : kase.count;
  const warmup = kase.message === "mdm8" ? (opts.quick ? 2 : 5) : opts.quick ? 50 : 300;
  const common = ["--port", String(port), "--message", MESSAGES[kase.message], "--mode", kase.mode, "--concurrency", String(kase.concurrency), "--count", String(count), "--seconds", String(opts.seconds), "--warmup", String(warmup)];
  const extra = [];
  if (kase.enhanced) extra.push("--enhanced");
  if (kase.tls) extra.push("--tls-ca", path.join(CERTS, "ca.pem"), "--servername", "localhost");
  if (client.kind === "node") return ["node", [path.join(BENCH, "clients", "worker.js"), "--client", client.id, ...common, ...extra]];
  if (client.kind === "python") return ["python3", [path.join(BENCH, "clients", "python_hl7.py"), ...common, ...extra]];
  return [path.join(BIN, "bench-client"), ["--impl", client.impl, ...common, ...extra]];
}

/** `wrap`: a command the client runs under (profile.js: `perf record ... --`). */
function runClient(client, kase, port, opts, pinCpu, wrap = []) {
  const [cmd, args] = clientCommand(client, kase, port, opts);
  const pinned = pinCpu === null ? [cmd, ...args] : ["taskset", "-c", String(pinCpu), cmd, ...args];
  const [c, ...a] = [...wrap, ...pinned];
  const deadlineMs = (opts.seconds * 2 + 2 + (opts.quick ? 20 : 60)) * 1000;
  return new Promise((resolve) => {
    const child = spawn(c, a, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err = (err + d).slice(-4000)));
    const timer = setTimeout(() => {
      err += `\n(killed after ${deadlineMs / 1000} s)`;
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {}
    }, deadlineMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      try {
        if (code !== 0) throw new Error(`exit ${code}`);
        resolve(JSON.parse(out.trim().split("\n").pop()));
      } catch (error) {
        resolve({ failed: `${error.message}: ${err.trim().split("\n").slice(-3).join(" | ")}` });
      }
    });
  });
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

function summarize(r, before, after, window) {
  if (r.failed) return { failed: r.failed };
  const lat = Float64Array.from(r.latenciesUs).sort();
  const rcvWall = after && before ? after.wall_s - before.wall_s : null;
  const rcvCpu = after && before ? after.cpu_user_s + after.cpu_sys_s - (before.cpu_user_s + before.cpu_sys_s) : null;
  return {
    ok: r.ok,
    errors: r.errors,
    firstError: r.firstError,
    elapsedS: r.elapsedS,
    msgsPerS: r.ok / r.elapsedS,
    p50Us: percentile(lat, 50),
    p99Us: percentile(lat, 99),
    peakRssMB: (r.peakRssKiB * 1024) / MB,
    clientCpuUsPerMsg: r.ok ? ((r.cpuUserS + r.cpuSysS) / r.ok) * 1e6 : null,
    receiverCpuPct: rcvWall ? (rcvCpu / rcvWall) * 100 : null,
    receiverCpuUsPerMsg: after && before && after.messages > before.messages ? (rcvCpu / (after.messages - before.messages)) * 1e6 : null,
    receiverMessages: after && before ? after.messages - before.messages : null,
    tlsFull: after && before ? after.tls_full - before.tls_full : null,
    tlsResumed: after && before ? after.tls_resumed - before.tls_resumed : null,
    // Other processes' CPU while this client ran, in % of one CPU (see busySeconds()).
    backgroundCpuPct: window && window.busyS !== null && r.cpuTotalS !== undefined && rcvCpu !== null ? (Math.max(0, window.busyS - r.cpuTotalS - rcvCpu - window.selfS) / window.wallS) * 100 : null,
  };
}

function supported(client, kase) {
  const s = client.supports || {};
  if (kase.mode === "persistent" && !s.persistent) return false;
  if (kase.mode === "per-message" && !s.perMessage) return false;
  if (kase.enhanced && !s.enhanced) return false;
  if (kase.tls && !s.tls) return false;
  return true;
}

// ---------------------------------------------------------------------------------------
// Aggregation

function median(values) {
  const v = values.filter((x) => x !== null && x !== undefined).sort((a, b) => a - b);
  if (!v.length) return null;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

function aggregate(results) {
  for (const cr of results) {
    const byId = Object.fromEntries(cr.clients.map((c) => [c.id, c]));
    for (const c of cr.clients) {
      const ran = c.runs.filter((r) => !r.failed && r.ok > 0);
      // Undisturbed runs only, when there are any (see DISTURBED_PCT).
      const good = ran.some((r) => !r.disturbed) ? ran.filter((r) => !r.disturbed) : ran;
      c.disturbed = good.length > 0 && good.every((r) => r.disturbed);
      // The median run by msgs/s (the upper median for an even count); its client CPU per
      // message is the median over the runs too, so one lucky or unlucky run moves nothing.
      const byRate = [...good].sort((a, b) => a.msgsPerS - b.msgsPerS);
      c.median = byRate.length ? { ...byRate[Math.floor(byRate.length / 2)], clientCpuUsPerMsg: median(good.map((r) => r.clientCpuUsPerMsg)) } : null;
      c.peakRssMB = good.length ? Math.max(...good.map((r) => r.peakRssMB)) : null;
      c.spread = good.length > 1 ? [Math.min(...good.map((r) => r.msgsPerS)), Math.max(...good.map((r) => r.msgsPerS))] : null;
      c.errors = c.runs.reduce((n, r) => n + (r.errors || 0), 0);
      c.failed = c.runs.find((r) => r.failed)?.failed ?? null;
    }
    const limit = byId.rust?.median?.msgsPerS;
    for (const c of cr.clients) c.ratioToLimit = c.median && limit ? c.median.msgsPerS / limit : null;
    const peers = cr.clients.filter((c) => c.role === "peer" && c.median);
    const bestPeer = peers.length ? peers.reduce((a, b) => (b.median.msgsPerS > a.median.msgsPerS ? b : a)) : null;
    const ours = byId.glion;
    cr.bestPeer = bestPeer ? { id: bestPeer.id, label: bestPeer.label, msgsPerS: bestPeer.median.msgsPerS } : null;
    cr.oursToBestPeer = ours?.median && bestPeer ? ours.median.msgsPerS / bestPeer.median.msgsPerS : null;
    cr.oursToFloor = ours?.median && byId["node-net"]?.median ? ours.median.msgsPerS / byId["node-net"].median.msgsPerS : null;
    cr.oursToLimit = ours?.ratioToLimit ?? null;
    const bg = cr.clients.flatMap((c) => c.runs.map((r) => r.backgroundCpuPct)).filter((v) => v !== null && v !== undefined).sort((a, b) => a - b);
    cr.backgroundCpuPct = bg.length ? { median: bg[Math.floor(bg.length / 2)], max: bg[bg.length - 1] } : null;
  }
}

function targets(results) {
  const get = (id) => results.find((r) => r.id === id);
  const client = (cr, id) => cr?.clients.find((c) => c.id === id);
  const t = [];
  const add = (item, what, value, goal, shown) => t.push({ item, what, value, goal, shown: value === null || value === undefined ? "n/a" : shown });
  // 1. Client CPU time per message: at most PyPI hl7's, and at most 1.5 × the bare Rust client's.
  for (const id of ["per-message-c1", "per-message-c1-shared", "per-message-c32", "persistent-c1", "persistent-c1-shared", "persistent-c32"]) {
    const cr = get(id);
    const ours = client(cr, "glion")?.median?.clientCpuUsPerMsg;
    const py = client(cr, "python-hl7")?.median?.clientCpuUsPerMsg;
    const rust = client(cr, "rust")?.median?.clientCpuUsPerMsg;
    if (!cr) continue;
    add("1", `${cr.short}: client CPU/msg ≤ PyPI hl7's`, ours && py ? py / ours : null, 1, `${fmtUs(ours)} vs ${fmtUs(py)}`);
    add("1", `${cr.short}: client CPU/msg ≤ 1.5 × bare Rust's`, ours && rust ? (1.5 * rust) / ours : null, 1, `${fmtUs(ours)} vs 1.5 × ${fmtUs(rust)} (${fx(ours / rust)} ×)`);
  }
  // 2. Rates.
  const c32 = get("per-message-c32");
  if (c32) add("2", "per-msg c=32: msgs/s ≥ 0.8 × Rust limit", c32.oursToLimit, 0.8, `${fx(c32.oursToLimit)} × Rust`);
  const p32 = get("persistent-c32");
  if (p32) add("2", "pool c=32: msgs/s ≥ 0.5 × Rust limit", p32.oursToLimit, 0.5, `${fx(p32.oursToLimit)} × Rust`);
  for (const id of ["per-message-c1", "per-message-c1-shared", "persistent-c1", "persistent-c1-shared"]) {
    const cr = get(id);
    const ours = client(cr, "glion")?.median?.msgsPerS;
    const py = client(cr, "python-hl7")?.median?.msgsPerS;
    if (cr) add("2", `${cr.short}: msgs/s ≥ PyPI hl7's`, ours && py ? ours / py : null, 1, `${fx(ours / py)} × PyPI hl7`);
  }
  // 3. One 8 MiB message, as bytes and as a string.
  const big = get("large-8mib");
  if (big) {
    const bytes = client(big, "glion-bytes")?.ratioToLimit ?? null;
    add("3", "8 MiB as bytes: ≥ 0.8 × Rust limit", bytes, 0.8, `${fx(bytes)} × Rust`);
    const floor = client(big, "node-net")?.ratioToLimit ?? null;
    add("3", "8 MiB as a string: ≥ 0.8 × Rust limit", big.oursToLimit, 0.8, `${fx(big.oursToLimit)} × Rust${floor ? ` (node:net: ${fx(floor)} ×)` : ""}`);
  }
  // 4. stream() in enhanced mode against the node:net client.
  const enh = get("enhanced-c1");
  if (enh) add("4", "stream() (CA then AA): msgs/s ≥ node:net's", enh.oursToFloor, 1, `${fx(enh.oursToFloor)} × node:net`);
  // 5. TLS per-send cost over plain TCP, against the Rust client's (rustls both).
  const plain = get("per-message-c1");
  const tls = get("tls-c1");
  if (plain && tls) {
    const cost = (id) => {
      const p = client(plain, id)?.median, s = client(tls, id)?.median;
      return p && s ? 1e6 / s.msgsPerS - 1e6 / p.msgsPerS : null;
    };
    const ours = cost("glion"), rust = cost("rust");
    add("5", "TLS cost per send ≤ 1.1 × Rust client's", ours && rust ? (1.1 * rust) / ours : null, 1, `+${fmtUs(ours)} vs +${fmtUs(rust)} (${fx(ours / rust)} ×)`);
  }
  // 6. Peak RSS at c=32 against the node:net client.
  if (c32) {
    const ours = client(c32, "glion")?.peakRssMB;
    const floor = client(c32, "node-net")?.peakRssMB;
    add("6", "per-msg c=32: peak RSS ≤ node:net's", ours && floor ? floor / ours : null, 1, `${ours?.toFixed(1)} MB vs ${floor?.toFixed(1)} MB`);
  }
  for (const x of t) x.status = x.value === null || x.value === undefined || Number.isNaN(x.value) ? "n/a" : x.value >= x.goal ? "met" : "MISSED";
  return t;
}

// ---------------------------------------------------------------------------------------
// Report: markdown, JSON, SVG

const fx = (v) => (v === null || v === undefined ? "–" : `${v.toFixed(2)}`);
const fmtRate = (v) => (v >= 1000 ? `${Math.round(v).toLocaleString("en-US")}` : v >= 10 ? v.toFixed(0) : v.toFixed(1));
const fmtUs = (v) => (v === null || v === undefined ? "–" : v >= 10000 ? `${(v / 1000).toFixed(1)} ms` : v >= 1000 ? `${(v / 1000).toFixed(2)} ms` : `${Math.round(v)} µs`);

/** `where`: "results" for results/latest.md, "readme" for the Performance section of README.md. */
function markdown(report, where = "results") {
  const readmeLink = where === "readme" ? "#cases" : "../README.md#cases";
  const chart = where === "readme" ? "results/chart.svg" : "chart.svg";
  const m = report.machine;
  const L = [];
  L.push("## Performance");
  L.push("");
  L.push(`Measured ${report.date} with \`${report.command}\`${report.quick ? " (**--quick smoke run: numbers are not meaningful**)" : ""}.`);
  L.push("");
  L.push(`Machine: ${m.nproc} CPUs (${m.cpu}), ${m.memGiB} GiB, ${m.kernel}; Node ${m.node}; ${m.rustc}; ${m.python}. Repository at ${m.commit}; addon ${m.addon}. Other processes used ${report.backgroundCpuPctAtStart.toFixed(0)}% of a CPU when the run started.`);
  L.push("");
  L.push(`Each case ran ${report.reps} time(s) per client, at most ${report.seconds} s and at most the case's message count per run (after a warm-up); the table shows the **median** undisturbed run by msgs/s (its p50/p99), the median client CPU per message over those runs, the largest peak RSS, and their min–max msgs/s. Concurrency-1 cases run in two placements (\`taskset\`): client on CPU 0 and receiver on CPU 1, and both on CPU 0 (where a client's CPU time per message decides its rate)${report.pinned ? "" : " — **not pinned in this run**"}. Every client runs in its own process; "× limit" is msgs/s over the bare Rust tokio client's in the same case. What each case measures: [bench/README.md](${readmeLink}).`);
  L.push("");
  L.push(`![msgs/s relative to the bare Rust client, per case](${chart})`);
  L.push("");
  L.push("### Targets");
  L.push("");
  L.push("| item | target | measured | status |");
  L.push("|---|---|---|---|");
  for (const t of report.targets) L.push(`| ${t.item} | ${t.what} | ${t.shown} | ${t.status} |`);
  L.push("");
  for (const cr of report.results) {
    L.push(`### ${cr.title}`);
    L.push("");
    const extra = [];
    if (cr.bestPeer) extra.push(`ours / best peer (${cr.bestPeer.label}): **${fx(cr.oursToBestPeer)}**`);
    if (cr.oursToFloor !== null) extra.push(`ours / node:net: ${fx(cr.oursToFloor)}`);
    if (cr.oursToLimit !== null) extra.push(`ours / Rust limit: ${fx(cr.oursToLimit)}`);
    if (cr.backgroundCpuPct) extra.push(`other processes' CPU during these runs: median ${cr.backgroundCpuPct.median.toFixed(0)}%, max ${cr.backgroundCpuPct.max.toFixed(0)}% of a CPU`);
    if (extra.length) L.push(extra.join(" · ") + "."), L.push("");
    L.push("| client | msgs/s | min–max | p50 | p99 | peak RSS | × limit | client CPU/msg | receiver CPU |");
    L.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const c of cr.clients) {
      const name = c.role === "ours" ? `**${c.label}**` : c.label;
      if (c.skipped) {
        L.push(`| ${name} | ${c.skipped} | | | | | | | |`);
        continue;
      }
      if (!c.median) {
        L.push(`| ${name} | failed: ${String(c.failed ?? c.runs.find((r) => r.firstError)?.firstError ?? "?").replace(/\|/g, "/").slice(0, 160)} | | | | | | | |`);
        continue;
      }
      const b = c.median;
      const rate = `${fmtRate(b.msgsPerS)}${c.errors ? ` (${c.errors} errors)` : ""}${c.disturbed ? " ⚠" : ""}`;
      const spread = c.spread ? `${fmtRate(c.spread[0])}–${fmtRate(c.spread[1])}` : "";
      L.push(`| ${name} | ${rate} | ${spread} | ${fmtUs(b.p50Us)} | ${fmtUs(b.p99Us)} | ${c.peakRssMB.toFixed(1)} MB | ${fx(c.ratioToLimit)} | ${fmtUs(b.clientCpuUsPerMsg)} | ${b.receiverCpuPct === null ? "–" : `${b.receiverCpuPct.toFixed(0)}% (${fmtUs(b.receiverCpuUsPerMsg)}/msg)`} |`);
    }
    L.push("");
  }
  if (report.tlsCost.length) {
    L.push("### TLS per-send cost (TLS c=1 against plain connection per message c=1)");
    L.push("");
    L.push("| client | plain µs/msg | TLS µs/msg | TLS cost per send | TLS p50 − plain p50 | handshakes resumed |");
    L.push("|---|---:|---:|---:|---:|---:|");
    for (const t of report.tlsCost) L.push(`| ${t.label} | ${t.plainUs.toFixed(0)} | ${t.tlsUs.toFixed(0)} | +${(t.tlsUs - t.plainUs).toFixed(0)} µs (${fx(t.tlsUs / t.plainUs)}×) | +${(t.tlsP50 - t.plainP50).toFixed(0)} µs | ${t.resumedPct === null ? "–" : `${t.resumedPct.toFixed(0)}%`} |`);
    L.push("");
    L.push("µs/msg = 1 / msgs/s of the median run. TLS 1.3 (rustls receiver) with a P-256 certificate from a throwaway CA; \"handshakes resumed\" is counted by the receiver (rustls `handshake_kind()`): the rustls clients resume sessions by default; the node:tls floor passes the last `session` it got back to `tls.connect()`.");
    L.push("");
  }
  L.push(`⚠ = every run of that client in that case was disturbed: other processes used more than ${DISTURBED_PCT}% of a CPU meanwhile. Disturbed runs are repeated (up to ${EXTRA_RUNS} more) and left out of the median when an undisturbed run exists.`);
  L.push("");
  L.push("Receiver CPU is the bench-receiver's own CPU time (getrusage) over the run's wall time, in % of one CPU, and per message: it needs about as much CPU per message as the bare Rust client (one read and one write per message, plus accept and close per connection), and in the pinned cases its CPU is never full, so it is not what limits a client. In the concurrency-32 cases client and receiver share both CPUs and together fill them: there the efficient clients converge on what the machine can do. Client CPU/msg is the client process's CPU time over the measured phase, all threads, per message.");
  if (report.notes.length) {
    L.push("");
    for (const n of report.notes) L.push(`- ${n}`);
  }
  L.push("");
  return L.join("\n");
}

const COLORS = { glion: "#d62728", "glion-bytes": "#ff9896", "node-net": "#7f7f7f", "node-hl7-client": "#1f77b4", "simple-hl7": "#2ca02c", "medplum-hl7": "#9467bd", "python-hl7": "#bcbd22", rust: "#ff7f0e", "rust-core": "#e377c2" };

function svgChart(report) {
  const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  // Bars in the order of the table; ours without a persistent mode yet is a dashed outline.
  const groups = report.results.map((cr) => ({
    title: cr.short,
    bars: cr.clients
      .filter((c) => c.median && c.ratioToLimit !== null)
      .map((c) => ({ id: c.id, label: c.label, v: c.ratioToLimit })),
  }));
  const max = Math.max(1.2, ...groups.flatMap((g) => g.bars.map((b) => Math.min(b.v, 3))));
  const barW = 20, gap = 30, left = 56, top = 40, height = 300, legendH = 70;
  let x = left;
  const parts = [];
  for (const g of groups) {
    const gx = x;
    for (const b of g.bars) {
      const v = Math.min(b.v, 3);
      const h = (v / max) * height;
      parts.push(`<rect x="${x}" y="${top + height - h}" width="${barW}" height="${h}" fill="${COLORS[b.id] || "#333"}"><title>${esc(b.label)}: ${b.v.toFixed(2)} × limit</title></rect>`);
      parts.push(`<text x="${x + barW / 2}" y="${top + height - h - 3}" font-size="8" text-anchor="middle">${b.v >= 3 ? ">3" : b.v.toFixed(2)}</text>`);
      x += barW + 2;
    }
    parts.push(`<text x="${(gx + x - 2) / 2}" y="${top + height + 16}" font-size="11" text-anchor="middle">${esc(g.title)}</text>`);
    x += gap;
  }
  const width = Math.max(x + 10, 700);
  const axis = [];
  for (let v = 0; v <= max + 1e-9; v += 0.25) {
    const y = top + height - (v / max) * height;
    axis.push(`<line x1="${left - 4}" x2="${width - 10}" y1="${y}" y2="${y}" stroke="${Math.abs(v - 1) < 1e-9 ? "#000" : "#ddd"}" stroke-width="${Math.abs(v - 1) < 1e-9 ? 1 : 0.5}"/>`);
    axis.push(`<text x="${left - 8}" y="${y + 3}" font-size="10" text-anchor="end">${v.toFixed(2)}</text>`);
  }
  const legend = [];
  let lx = left, ly = top + height + 36;
  const shown = CLIENTS.map((c) => report.results.flatMap((cr) => cr.clients).find((k) => k.id === c.id && k.median && k.label !== "node:tls hand-written (floor)")).filter(Boolean);
  for (const c of shown) {
    const w = 30 + c.label.length * 6.6;
    if (lx + w > width - 10) (lx = left), (ly += 16);
    legend.push(`<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="${COLORS[c.id]}"/><text x="${lx + 14}" y="${ly}" font-size="11">${esc(c.label)}</text>`);
    lx += w;
  }
  const totalH = ly + 20;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${Math.max(totalH, top + height + legendH)}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${left}" y="20" font-size="14" font-weight="bold">msgs/s relative to the bare Rust tokio client (1.00 = the practical limit), median of ${report.reps} run(s)</text>`,
    `<text x="${left}" y="34" font-size="10" fill="#555">${esc(`${report.machine.nproc} × ${report.machine.cpu}, Node ${report.machine.node}, ${report.date}`)}</text>`,
    ...axis,
    ...parts,
    ...legend,
    `</svg>`,
  ].join("\n");
}

// ---------------------------------------------------------------------------------------
// Main

function writeReport(report, opts, complete) {
  fs.mkdirSync(opts.out, { recursive: true });
  fs.writeFileSync(path.join(opts.out, "latest.json"), JSON.stringify(report, null, 2) + "\n");
  fs.writeFileSync(path.join(opts.out, "latest.md"), markdown(report));
  fs.writeFileSync(path.join(opts.out, "chart.svg"), svgChart(report) + "\n");
  // A complete run (every case and client, default --out) also refreshes the Performance
  // section of README.md, between its two markers.
  const readme = path.join(BENCH, "README.md");
  if (complete && fs.existsSync(readme)) {
    const text = fs.readFileSync(readme, "utf8");
    const start = "<!-- performance:start -->";
    const end = "<!-- performance:end -->";
    const a = text.indexOf(start);
    const b = text.indexOf(end);
    if (a !== -1 && b > a) {
      fs.writeFileSync(readme, text.slice(0, a + start.length) + "\n" + markdown(report, "readme").replace(/^## Performance\n\n/, "") + text.slice(b));
      log("updated the Performance section of README.md");
    }
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.render) {
    const report = JSON.parse(fs.readFileSync(path.join(opts.out, "latest.json"), "utf8"));
    report.targets = targets(report.results); // the rules may have changed since the run
    writeReport(report, opts, !report.quick && report.complete);
    process.stdout.write(markdown(report));
    return;
  }
  const started = Date.now();
  if (!fs.existsSync(path.join(ROOT, "mllp-client.linux-x64-gnu.node"))) log("warning: the addon mllp-client.linux-x64-gnu.node is missing at the repository root (npm run build there)");
  const native = buildNative(opts);
  const certError = makeCerts();
  makeEightMiB(MESSAGES.mdm8);
  const m = machine();
  const pinned = opts.pin && m.taskset && m.nproc >= 2;
  const backgroundAtStart = await waitQuiet(opts.waitQuiet);
  checkClients(native);
  const notes = [];
  for (const c of CLIENTS) if (c.unavailable) log(`skipping ${c.id}: ${c.unavailable}`), notes.push(`${c.label ?? c.id} skipped: ${c.unavailable}.`);
  if (certError) notes.push(`TLS case skipped: ${certError}.`);
  if (!pinned) notes.push(opts.pin ? "Not pinned: taskset is missing or the machine has fewer than 2 CPUs." : "Not pinned (--no-pin).");

  const cases = CASES.filter((k) => !opts.cases || opts.cases.includes(k.id)).filter((k) => !(k.tls && certError));
  const clients = CLIENTS.filter((c) => !opts.clients || opts.clients.includes(c.id) || c.id === "rust");
  const inCase = (c, kase) => !c.cases || c.cases.includes(kase.id);
  const results = [];
  for (const kase of cases) {
    log(`\n== ${kase.title}`);
    const args = [];
    if (kase.enhanced) args.push("--enhanced");
    if (kase.tls) args.push("--tls", path.join(CERTS, "server.pem"), path.join(CERTS, "server.key"));
    const place = pinned ? PLACEMENT[kase.placement] : PLACEMENT.free;
    const receiver = await Receiver.start(args, place.receiver);
    const cr = { id: kase.id, title: kase.title, short: kase.short, mode: kase.mode, concurrency: kase.concurrency, placement: pinned ? kase.placement : "free", clients: [] };
    for (const c of clients.filter((c) => inCase(c, kase))) {
      const entry = { id: c.id, label: c.label, role: c.role, runs: [] };
      if (c.unavailable) entry.skipped = "not available (see notes)";
      else if (!supported(c, kase)) {
        if (c.role === "ours" || c.role === "limit") entry.skipped = "not supported";
        else continue; // a peer without this feature is simply not listed
      }
      cr.clients.push(entry);
    }
    const runnable = cr.clients.filter((e) => !e.skipped);
    const runOnce = async (entry, label) => {
      const c = CLIENTS.find((x) => x.id === entry.id);
      // On a shared machine, wait (a little) for other processes to go idle before each run.
      if (opts.waitQuiet > 0) await waitQuiet(Math.min(30, opts.waitQuiet), { quiet: true, sampleMs: 500 });
      const before = await receiver.stats();
      const startedAt = new Date().toISOString();
      const addon = c.id.startsWith("glion") ? addonStamp() : null;
      const b0 = busySeconds(), s0 = selfCpuSeconds(), t0 = Date.now();
      const r = await runClient(c, kase, receiver.port, opts, place.client);
      const after = await receiver.stats();
      const b1 = busySeconds();
      const window = { busyS: b0 === null || b1 === null ? null : b1 - b0, selfS: selfCpuSeconds() - s0, wallS: (Date.now() - t0) / 1000 };
      const s = summarize(r, before, after, window);
      s.disturbed = s.backgroundCpuPct !== null && s.backgroundCpuPct > DISTURBED_PCT;
      s.startedAt = startedAt;
      if (addon) s.addon = addon;
      entry.runs.push(s);
      log(s.failed ? `  ${entry.id.padEnd(16)} ${label}: FAILED ${s.failed}` : `  ${entry.id.padEnd(16)} ${label}: ${fmtRate(s.msgsPerS).padStart(8)} msgs/s  p50 ${fmtUs(s.p50Us).padStart(8)}  p99 ${fmtUs(s.p99Us).padStart(8)}  rss ${s.peakRssMB.toFixed(1)} MB  rcv cpu ${s.receiverCpuPct?.toFixed(0)}%  other cpu ${s.backgroundCpuPct?.toFixed(0)}%${s.disturbed ? " (disturbed)" : ""}${s.errors ? `  ERRORS ${s.errors}: ${s.firstError}` : ""}`);
      await new Promise((res) => setTimeout(res, opts.quick ? 20 : 250));
    };
    for (let rep = 0; rep < opts.reps; rep++) {
      // Rotate the order each repetition so that no client always runs first or last.
      const order = runnable.map((_, i) => runnable[(i + rep) % runnable.length]);
      for (const entry of order) await runOnce(entry, `run ${rep + 1}`);
    }
    // Runs disturbed by other processes do not count towards `reps`: repeat them (up to
    // EXTRA_RUNS more per client) so that each client has `reps` undisturbed runs if it can.
    if (!opts.quick) {
      for (let extra = 0; extra < EXTRA_RUNS; extra++) {
        const short = runnable.filter((e) => e.runs.filter((r) => !r.failed && !r.disturbed).length < opts.reps);
        for (const entry of short) await runOnce(entry, `extra ${extra + 1}`);
      }
    }
    cr.receiver = await receiver.stop();
    results.push(cr);
  }

  aggregate(results);
  const addons = [...new Set(results.flatMap((cr) => cr.clients.flatMap((c) => c.runs.map((r) => r.addon)).filter(Boolean)))];
  if (addons.length > 1) notes.push(`The addon was rebuilt while this run went on: ours ran with ${addons.length} builds (${addons.join("; ")}); see \`addon\` of each run in latest.json.`);
  const tlsCost = [];
  const plain = results.find((r) => r.id === "per-message-c1");
  const tlsRes = results.find((r) => r.id === "tls-c1");
  if (plain && tlsRes) {
    for (const c of tlsRes.clients) {
      const p = plain.clients.find((x) => x.id === (c.id === "node-net" ? "node-net" : c.id));
      if (c.median && p?.median) tlsCost.push({ id: c.id, label: c.id === "node-net" ? "node:tls hand-written (floor)" : c.label, plainUs: 1e6 / p.median.msgsPerS, tlsUs: 1e6 / c.median.msgsPerS, plainP50: p.median.p50Us, tlsP50: c.median.p50Us, resumedPct: c.median.tlsFull + c.median.tlsResumed > 0 ? (100 * c.median.tlsResumed) / (c.median.tlsFull + c.median.tlsResumed) : null });
    }
  }
  if (tlsRes) {
    const net = tlsRes.clients.find((c) => c.id === "node-net");
    if (net) net.label = "node:tls hand-written (floor)";
  }
  const report = {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    command: `cd bench && npm install && ${opts.quick ? "node run.js --quick" : "npm run bench"}`,
    argv: process.argv.slice(2),
    quick: opts.quick,
    reps: opts.reps,
    seconds: opts.seconds,
    pinned,
    machine: m,
    backgroundCpuPctAtStart: backgroundAtStart * 100,
    notes,
    results,
    tlsCost,
  };
  report.targets = targets(results);
  report.complete = !opts.quick && !opts.cases && !opts.clients && opts.out === path.join(BENCH, "results");
  writeReport(report, opts, report.complete);
  log(`\nwrote ${path.relative(process.cwd(), path.join(opts.out, "latest.md"))}, latest.json, chart.svg in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  process.stdout.write(markdown(report));
}

if (require.main === module) main().catch((error) => die(error && error.stack ? error.stack : String(error)));

// For profile.js: the same cases, clients, receiver and client runs.
module.exports = { CASES, CLIENTS, PLACEMENT, Receiver, runClient, buildNative, makeEightMiB, waitQuiet, supported };
