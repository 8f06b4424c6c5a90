"use strict";
// The event-loop path keeps its state per napi environment (src/binding/context.rs): the
// main thread and every worker thread have their own sends, streams, pooled connections,
// reactor and libuv handles. Several environments send at once; one worker is terminated
// with a send in flight, streams open and idle pooled connections while the others keep
// sending, and every send of the others succeeds. A last check keeps thread-locals out of
// the event-loop driver.

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { runScript } = require("./helpers.js");

const ON_EVENT_LOOP = !process.versions.bun && process.platform === "linux" && process.env.GLION_MLLP_IO !== "tokio";
const NOT_ON_EVENT_LOOP = ON_EVENT_LOOP ? false : "the event-loop path runs only on Node on Linux without GLION_MLLP_IO=tokio";

test("environments: main thread and 3 workers send at once on their event loops; a 4th terminated mid-send, mid-stream and with idle pooled connections takes nothing of theirs down", { skip: NOT_ON_EVENT_LOOP }, async () => {
  const script = `
    const { Worker } = require("node:worker_threads");
    const net = require("node:net");
    const { frame, ackFor, onEachMessage } = require("./__test__/helpers.js");
    const { MllpClient } = require("./index.cjs");
    const binding = require("./binding.cjs");
    const ROUNDS = 60;
    // Every worker: a per-message client and a pooled one (max 3), ROUNDS rounds of 4 sends
    // at once plus an enhanced-mode stream every 10th round. The victim ("V") first fills
    // its pool, then leaves a send in flight on each client and two streams open (one
    // paused between frames, one with next() waiting), and says "ready".
    const WORKER = \`
      const { workerData, parentPort } = require("node:worker_threads");
      const { MllpClient } = require(workerData.root + "/index.cjs");
      const binding = require(workerData.root + "/binding.cjs");
      const msg = (id) => "MSH|^~\\\\\\\\&|S|F|R|F|20260510||ADT^A01|" + id + "|P|2.5";
      const { port, name, rounds } = workerData;
      const single = new MllpClient({ host: "127.0.0.1", port, tls: false, ackTimeout: 20000 });
      const pooled = new MllpClient({ host: "127.0.0.1", port, tls: false, ackTimeout: 20000, pool: { max: 3 } });
      (async () => {
        if (name === "V") {
          await Promise.all([1, 2, 3].map((i) => pooled.send(msg("V-P" + i))));
          single.send(msg("V-HOLD1")).catch(() => {});
          pooled.send(msg("V-HOLD2")).catch(() => {});
          const paused = single.stream(msg("V-CA1"));
          await paused.next();
          const waiting = single.stream(msg("V-CA2"));
          await waiting.next();
          waiting.next().catch(() => {});
          parentPort.postMessage({ ready: true, streams: binding.__eventLoopStreamsForTests() });
          return;
        }
        let ok = 0;
        let streamed = 0;
        const failures = [];
        parentPort.postMessage({ started: true });
        for (let r = 0; r < rounds; r++) {
          const sends = [single.send(msg(name + "-S" + r)), single.send(msg(name + "-T" + r)), pooled.send(msg(name + "-P" + r)), pooled.send(msg(name + "-Q" + r))];
          for (const result of await Promise.allSettled(sends)) {
            if (result.status === "fulfilled") ok++;
            else failures.push(result.reason.code + ": " + result.reason.message);
          }
          if (r % 10 === 0) {
            const codes = [];
            for await (const ack of single.stream(msg(name + "-ENH" + r))) codes.push(ack.code);
            if (codes.join(",") === "CA,AA") streamed++;
          }
        }
        await pooled.close();
        parentPort.postMessage({ done: true, ok, streamed, failures: failures.slice(0, 3), streams: binding.__eventLoopStreamsForTests() });
      })();
    \`;
    (async () => {
      const sockets = [];
      // AA for every frame, except: *-HOLD* unanswered, *-CA* a CA only, *-ENH* CA then AA.
      // Each connection is tagged with the worker its first message came from.
      const server = net.createServer((s) => {
        sockets.push(s);
        s.on("error", () => {});
        onEachMessage(s, (message) => {
          const id = message.split("|")[9];
          s.owner ??= id.split("-")[0];
          if (id.includes("-HOLD")) return;
          if (id.includes("-CA")) return s.write(frame(ackFor(message, "CA")));
          if (id.includes("-ENH")) s.write(frame(ackFor(message, "CA")));
          s.write(frame(ackFor(message)));
        });
      });
      await new Promise((r) => server.listen(0, "127.0.0.1", r));
      const port = server.address().port;
      const start = (name) => new Worker(WORKER, { eval: true, workerData: { root: process.cwd(), port, name, rounds: ROUNDS } });
      const victim = start("V");
      const victimReady = new Promise((r) => victim.on("message", r));
      const senders = ["A", "B", "C"].map((name) => {
        const worker = start(name);
        const started = new Promise((r) => worker.once("message", r));
        const done = new Promise((r) => worker.on("message", (m) => m.done && r(m)));
        worker.on("error", (e) => console.error("worker " + name + ": " + e.stack));
        return { name, started, done };
      });
      // The main thread sends meanwhile too, on its own event loop.
      const single = new MllpClient({ host: "127.0.0.1", port, tls: false, ackTimeout: 20000 });
      const pooled = new MllpClient({ host: "127.0.0.1", port, tls: false, ackTimeout: 20000, pool: { max: 2 } });
      const msg = (id) => "MSH|^~\\\\&|S|F|R|F|20260510||ADT^A01|" + id + "|P|2.5";
      let mainOk = 0;
      let mainSending = true;
      const mainLoop = (async () => {
        for (let r = 0; mainSending && r < 100000; r++) {
          await Promise.all([single.send(msg("M-S" + r)), pooled.send(msg("M-P" + r))]);
          mainOk += 2;
        }
      })();
      const ready = await victimReady;
      await Promise.all(senders.map((s) => s.started));
      const mainBefore = mainOk;
      const code = await victim.terminate();
      const results = await Promise.all(senders.map((s) => s.done));
      const mainAfterTerminate = mainOk - mainBefore;
      mainSending = false;
      await mainLoop;
      await pooled.close();
      await new Promise((r) => setTimeout(r, 200));
      const victimSockets = sockets.filter((s) => s.owner === "V");
      const open = victimSockets.filter((s) => !s.destroyed && !s.readableEnded).length;
      for (const s of sockets) s.destroy();
      server.close();
      console.log(JSON.stringify({ code, ready, results, mainOk, mainAfterTerminate, mainStreams: binding.__eventLoopStreamsForTests(), victimConnections: victimSockets.length, open }));
    })();
  `;
  const run = await runScript(script, [], 120000);
  assert.equal(run.signal, null, run.stderr);
  assert.equal(run.code, 0, run.stderr);
  assert.doesNotMatch(run.stderr, /Assertion|uv_loop_close|FATAL|Segmentation|panicked|worker [ABC]:/i);
  const report = JSON.parse(run.stdout);
  assert.equal(report.code, 1, "terminate() ends a worker with exit code 1");
  // The victim's state was its own: its two open streams.
  assert.equal(report.ready.streams, 2, "the victim's environment counts its own two open streams");
  for (const r of report.results) {
    assert.deepEqual(r.failures, [], "a send of a worker that kept running failed");
    assert.equal(r.ok, 60 * 4, "every send of a worker that kept running succeeded");
    assert.equal(r.streamed, 6, "every stream of a worker that kept running got CA then AA");
    assert.equal(r.streams, 0, "a finished worker's environment has no stream left");
  }
  assert.ok(report.mainAfterTerminate > 0, "the main thread kept sending after the worker was terminated");
  assert.equal(report.mainStreams, 0, "the main thread's environment never counted the workers' streams");
  // 3 pooled (two idle, one carrying V-HOLD2), 1 per-message (V-HOLD1), 2 streams.
  assert.equal(report.victimConnections, 6);
  assert.equal(report.open, 0, "a connection of the terminated worker is still open");
});

test("environments: no thread_local! in the event-loop driver (its state lives in the environment's context)", () => {
  const dir = path.join(__dirname, "..", "src", "binding");
  // The files of the event-loop path (src/binding/mod.rs declares them).
  const files = ["context.rs", "loop_client.rs", "reactor.rs", "uv.rs", "settle.rs", "mod.rs", "no_loop.rs"];
  const found = files.filter((f) => /\bthread_local!/.test(fs.readFileSync(path.join(dir, f), "utf8")));
  assert.deepEqual(found, []);
  const source = fs.readFileSync(path.join(dir, "context.rs"), "utf8");
  assert.match(source, /napi_set_instance_data/, "the context is stored as napi instance data");
});
