#!/usr/bin/env node
"use strict";
// Bench case "diagnostics": what the "glion:mllp:send" tracing channel costs a send.
//
//   node bench/diagnostics.js [--seconds S] [--reps N] [--concurrency C]
//
// One receiver in a child process (node:net, answers every frame with AA and MSA-2 = MSH-10),
// one MllpClient here (pool, C sends in flight, the ORU^R01 sample). Runs alternate between
// "no subscriber" and "subscribed" (no-op handlers on all five events, so the context is
// built and every event published) to spread machine noise over both; prints msgs/s per run,
// the medians, and the cost of the check a send makes when nobody subscribes, timed alone.

const { spawn } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const diagnosticsChannel = require("node:diagnostics_channel");
const { MllpClient } = require("../index.cjs");
const { SendTracer } = require("../lib/diagnostics.cjs");

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(args[at + 1]);
};
const SECONDS = option("seconds", 3);
const REPS = option("reps", 5);
const CONCURRENCY = option("concurrency", 4);

const RECEIVER = `
const net = require("node:net");
const server = net.createServer((socket) => {
  let pending = Buffer.alloc(0);
  socket.on("data", (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    for (;;) {
      const end = pending.indexOf(0x1c);
      if (end === -1 || end + 1 >= pending.length) return;
      const msh = pending.subarray(1, Math.min(end, 512)).toString("latin1").split("\\r")[0];
      const id = msh.split(msh[3])[9];
      socket.write("\\x0bMSH|^~\\\\&|R|F|S|F|20260101||ACK|A|P|2.5\\rMSA|AA|" + id + "\\x1c\\r");
      pending = pending.subarray(end + 2);
    }
  });
  socket.on("error", () => {});
});
server.listen(0, "127.0.0.1", () => process.stdout.write(server.address().port + "\\n"));
`;

async function startReceiver() {
  const child = spawn(process.execPath, ["-e", RECEIVER], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once("data", (d) => resolve(Number(String(d).trim())));
    child.once("exit", (code) => reject(new Error(`receiver exited ${code}`)));
  });
  return { port, stop: () => child.kill() };
}

const template = fs.readFileSync(path.join(__dirname, "..", "samples", "oru-r01.hl7"), "utf8").replace(/\r?\n/g, "\r");
let counter = 0;
const nextMessage = () => {
  const msh = template.split("\r")[0].split("|");
  msh[9] = `B${String(++counter).padStart(11, "0")}`;
  return [msh.join("|"), ...template.split("\r").slice(1)].join("\r");
};

async function run(client, seconds) {
  const messages = Array.from({ length: 4096 }, nextMessage); // built before the clock starts
  let sent = 0;
  const until = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < until) {
      const ack = await client.send(messages[sent++ % messages.length]);
      if (ack.code !== "AA") throw new Error(`ACK ${ack.code}`);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return sent / ((performance.now() - started) / 1000);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** ns per `active` check with no subscriber: what every send pays when nobody listens. */
function checkCost() {
  const tracer = new SendTracer(diagnosticsChannel);
  const N = 20_000_000;
  let yes = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < N; i++) if (tracer.active) yes++;
  const ns = Number(process.hrtime.bigint() - started) / N;
  if (yes !== 0) throw new Error("a subscriber is attached");
  return ns;
}

async function main() {
  const rx = await startReceiver();
  const client = new MllpClient({ host: "127.0.0.1", port: rx.port, tls: false, pool: { max: CONCURRENCY } });
  const channel = diagnosticsChannel.tracingChannel("glion:mllp:send");
  const noop = () => {};
  const handlers = { start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop };
  const results = { none: [], subscribed: [] };
  try {
    await run(client, 1); // warm-up
    for (let rep = 0; rep < REPS; rep++) {
      for (const mode of rep % 2 === 0 ? ["none", "subscribed"] : ["subscribed", "none"]) {
        if (mode === "subscribed") channel.subscribe(handlers);
        const rate = await run(client, SECONDS);
        if (mode === "subscribed") channel.unsubscribe(handlers);
        results[mode].push(rate);
        console.log(`rep ${rep + 1} ${mode.padEnd(10)} ${rate.toFixed(0)} msgs/s`);
      }
    }
  } finally {
    await client.close();
    rx.stop();
  }
  const none = median(results.none);
  const subscribed = median(results.subscribed);
  const ns = checkCost();
  console.log(`\nmedian over ${REPS} runs of ${SECONDS} s, concurrency ${CONCURRENCY}, pool, ${Buffer.byteLength(template)} B message:`);
  console.log(`  no subscriber: ${none.toFixed(0)} msgs/s (${(1e6 / none).toFixed(1)} µs/send)`);
  console.log(`  subscribed:    ${subscribed.toFixed(0)} msgs/s (${(((none - subscribed) / none) * 100).toFixed(1)}% fewer)`);
  console.log(`  the no-subscriber check alone: ${ns.toFixed(2)} ns per send (${((ns / (1e9 / none)) * 100).toFixed(4)}% of a send)`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
