#!/usr/bin/env node
"use strict";
// Bounded soak (issue 8, item 4): N sends against the library's test receiver at a modest
// concurrency, sampling RSS and open file descriptors as it goes. After the warm-up (the
// first 20% of the sends) RSS and fds must stay flat: the run fails (exit 1) when RSS grows
// by more than --rss-bound-mb or open fds by more than --fd-bound over the first sample
// after the warm-up, or when any send does not settle AA with its own control id.
//
//   node scripts/soak.js                      # 200,000 sends (the full soak, ~2 min)
//   node scripts/soak.js --sends 20000        # the CI-sized run (__test__/soak.test.js)
//
// Options: --sends N (200000), --concurrency N (32), --sample-every N (10000, or sends/20
// when that is smaller, at least 500), --rss-bound-mb N (20), --fd-bound N (16).
// Test-only, to prove the bounds catch a leak: --retain-bytes-per-send N keeps N bytes per
// send alive on purpose; --leak-fd-every N opens /dev/null every N sends and never closes it.
//
// At each sample the sends pause until none is in flight (so open fds are exact, not
// whatever connections happen to be open), garbage is collected where the runtime allows it,
// and then RSS, heap and fds are read. The test receiver runs in this process (its
// transport is the same Rust core) and records every message by design; the soak empties
// that record at each sample, so what is measured is the client and the transport.
//
// Under Node the script re-runs itself with V8's young generation pinned at its full size
// (--min/--max-semi-space-size=16) and --expose-gc: otherwise V8 grows the young generation
// from 1 to 16 MiB semispaces during the first ~15,000 sends, a one-time step of ~15-20 MB
// of RSS that is no leak but would hide one (or fail the CI-sized run).

const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

const V8_FLAGS = ["--min-semi-space-size=16", "--max-semi-space-size=16", "--expose-gc"];
if (typeof Bun === "undefined" && process.env.GLION_SOAK_PINNED !== "1") {
  const run = spawnSync(process.execPath, [...V8_FLAGS, __filename, ...process.argv.slice(2)], {
    stdio: "inherit",
    env: { ...process.env, GLION_SOAK_PINNED: "1" },
  });
  if (run.error) throw run.error;
  process.exit(run.status ?? 1);
}

const { MllpClient } = require(path.join(__dirname, "..", "index.cjs"));
const { startTestReceiver } = require(path.join(__dirname, "..", "lib", "testing.cjs"));

const MiB = 2 ** 20;

function parseArgs(argv) {
  const options = { sends: 200000, concurrency: 32, sampleEvery: undefined, rssBoundMb: 20, fdBound: 16, retainBytesPerSend: 0, leakFdEvery: 0 };
  const names = { "--sends": "sends", "--concurrency": "concurrency", "--sample-every": "sampleEvery", "--rss-bound-mb": "rssBoundMb", "--fd-bound": "fdBound", "--retain-bytes-per-send": "retainBytesPerSend", "--leak-fd-every": "leakFdEvery" };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split("=", 2);
    const key = names[flag];
    if (!key) throw new Error(`unknown option ${argv[i]}; known: ${Object.keys(names).join(" ")}`);
    const value = Number(inline ?? argv[++i]);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${flag} needs a number >= 0`);
    options[key] = value;
  }
  if (options.sends < 1 || options.concurrency < 1) throw new Error("--sends and --concurrency must be >= 1");
  options.sampleEvery ??= Math.max(500, Math.min(10000, Math.floor(options.sends / 20)));
  return options;
}

/** A full garbage collection where the runtime offers one (Node: via --expose-gc at run time). */
function collector() {
  if (typeof Bun !== "undefined") return () => Bun.gc(true);
  if (typeof global.gc === "function") return global.gc;
  try {
    require("node:v8").setFlagsFromString("--expose-gc");
    const gc = require("node:vm").runInNewContext("gc");
    if (typeof gc === "function") return gc;
  } catch {
    // fall through: samples are then taken without a forced collection
  }
  return () => {};
}

function openFds() {
  return fs.readdirSync("/proc/self/fd").length;
}

const message = (n) => `MSH|^~\\&|SOAK|FAC|RECEIVER|FAC|20260510120000||ADT^A01^ADT_A01|SOAK${n}|P|2.5\rEVN|A01|20260510120000\rPID|1||${n}^^^FAC^MR||DOE^JOHN||19800101|M\rPV1|1|I|WARD^101^A`;

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const gc = collector();
  const rx = await startTestReceiver({});
  const client = new MllpClient({ host: "127.0.0.1", port: rx.port, tls: false, ackTimeout: 10000, connectTimeout: 10000 });
  const warmup = Math.ceil(o.sends * 0.2);
  const retained = [];

  const samples = [];
  const failures = [];
  let next = 0;
  let done = 0;
  let inFlight = 0;
  let gate = null; // set while a sample is being taken: workers wait on it
  let idle = () => {};
  const started = Date.now();

  async function sample() {
    while (inFlight > 0) await new Promise((resolve) => (idle = resolve));
    await new Promise((resolve) => setTimeout(resolve, 50)); // the receiver's side of the last connections closes
    rx.received.splice(0); // the test receiver's record of messages (see the header)
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    const m = process.memoryUsage();
    samples.push({ sends: done, seconds: (Date.now() - started) / 1000, rss: m.rss, heapTotal: m.heapTotal, heap: m.heapUsed, external: m.external, fds: openFds() });
  }

  async function worker() {
    for (;;) {
      if (gate) await gate;
      if (next >= o.sends) return;
      const n = next++;
      inFlight++;
      try {
        const ack = await client.send(message(n));
        if (ack.code !== "AA" || ack.controlId !== `SOAK${n}`) failures.push(`send ${n}: ${ack.code} for ${ack.controlId}`);
      } catch (error) {
        failures.push(`send ${n}: ${error.code ?? error.name}: ${error.message}`);
      }
      if (o.retainBytesPerSend) retained.push(Buffer.alloc(o.retainBytesPerSend, n & 0xff));
      if (o.leakFdEvery && n % o.leakFdEvery === 0) retained.push(fs.openSync("/dev/null", "r"));
      inFlight--;
      done++;
      if (inFlight === 0) idle();
      if (done % o.sampleEvery === 0 || done === o.sends) {
        if (!gate) {
          let open;
          gate = new Promise((resolve) => (open = resolve));
          sample().then(() => {
            gate = null;
            open();
          });
        }
      }
      if (failures.length > 100) return;
    }
  }

  await sample(); // before the first send
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  if (gate) await gate;
  if (samples[samples.length - 1].sends !== done) await sample();
  const elapsed = (Date.now() - started) / 1000;
  await rx.close();

  // The table.
  const col = (s, w) => String(s).padStart(w);
  const runtime = typeof Bun !== "undefined" ? `bun ${Bun.version}` : `node ${process.version} ${process.execArgv.join(" ")}`;
  console.log(`soak: ${o.sends} sends, concurrency ${o.concurrency}, a sample every ${o.sampleEvery} sends, warm-up ${warmup} sends; ${runtime}`);
  console.log(`${col("sends", 8)} ${col("seconds", 8)} ${col("rss MiB", 8)} ${col("heap used", 10)} ${col("heap total", 11)} ${col("external", 9)} ${col("fds", 5)}`);
  for (const s of samples) {
    const mib = (n, w) => col((n / MiB).toFixed(1), w);
    console.log(`${col(s.sends, 8)} ${col(s.seconds.toFixed(1), 8)} ${mib(s.rss, 8)} ${mib(s.heap, 10)} ${mib(s.heapTotal, 11)} ${mib(s.external, 9)} ${col(s.fds, 5)}`);
  }

  // The verdict.
  const problems = [];
  if (done !== o.sends) problems.push(`only ${done} of ${o.sends} sends settled`);
  if (failures.length) problems.push(`${failures.length} sends failed, e.g. ${failures.slice(0, 3).join("; ")}`);
  const after = samples.filter((s) => s.sends >= warmup);
  const base = after[0];
  const last = after[after.length - 1];
  const peakRss = Math.max(...after.map((s) => s.rss));
  const peakFds = Math.max(...after.map((s) => s.fds));
  const rssGrowth = peakRss - base.rss;
  const fdGrowth = peakFds - base.fds;
  if (after.length < 2) problems.push("fewer than two samples after the warm-up: nothing to compare (raise --sends or lower --sample-every)");
  if (rssGrowth > o.rssBoundMb * 1e6) problems.push(`RSS grew ${(rssGrowth / 1e6).toFixed(1)} MB after the warm-up (bound ${o.rssBoundMb} MB)`);
  if (fdGrowth > o.fdBound) problems.push(`open fds grew by ${fdGrowth} after the warm-up (bound ${o.fdBound})`);
  console.log(
    `after warm-up (from ${base.sends} sends): RSS ${(base.rss / MiB).toFixed(1)} -> ${(last.rss / MiB).toFixed(1)} MiB ` +
      `(peak ${(peakRss / MiB).toFixed(1)} MiB, growth ${(rssGrowth / 1e6).toFixed(1)} MB, bound ${o.rssBoundMb} MB); ` +
      `fds ${base.fds} -> ${last.fds} (peak ${peakFds}, bound +${o.fdBound}); ` +
      `${done} sends in ${elapsed.toFixed(1)} s (${Math.round(done / elapsed)}/s)`,
  );
  if (problems.length) {
    console.log(`soak: FAIL: ${problems.join("; ")}`);
    process.exitCode = 1;
  } else {
    console.log("soak: PASS");
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
