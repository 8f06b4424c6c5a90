"use strict";
// Clean shutdown (issue 8, item 6), each in a child process: the process exits promptly once
// its work settles, with no handle kept alive by the addon, after what exit.test.js does not
// cover (a completed stream(), CONNECTION_REFUSED, the test receiver started and closed, a
// pooled client with and without close()); and worker_threads that load the addon and die
// while a send is pending (process.exit(), terminate(), an uncaught exception) do not crash
// the process, even when their orphaned sends settle after the worker is gone.

const test = require("node:test");
const assert = require("node:assert/strict");

const { startRawReceiver, frame, ackFor, collectFrames, onEachMessage, sample, runScript } = require("./helpers.js");

const ADT = sample("adt-a01");
const LINGER_MS = 1000; // how long a process may stay up after its last line of output

/** The child exited by itself, cleanly, soon after its last line. */
function assertPromptExit(run) {
  assert.equal(run.signal, null, `the child died of ${run.signal}; stderr: ${run.stderr}`);
  assert.equal(run.code, 0, `exit code ${run.code}; stderr: ${run.stderr}`);
  const lastLineAt = run.lineAt.at(-1);
  assert.ok(lastLineAt, "the child printed nothing");
  const lingered = run.exitedAt - lastLineAt;
  assert.ok(lingered < LINGER_MS, `the process lingered ${lingered} ms after its work settled`);
}

/** A receiver that answers every frame on a connection (several per connection) with AA. */
function answeringReceiver(extra = () => {}) {
  return startRawReceiver((socket) => {
    extra(socket);
    onEachMessage(socket, (message) => socket.write(frame(ackFor(message))));
  });
}

test("shutdown: a process exits promptly after a stream() completes (CA, then AA)", async () => {
  const rx = await startRawReceiver(async (socket) => {
    await collectFrames(socket);
    socket.write(frame(ackFor(ADT, "CA")));
    setTimeout(() => socket.write(frame(ackFor(ADT, "AA"))), 50);
  });
  try {
    const run = await runScript(`
      const { MllpClient } = require("./index.cjs");
      const fs = require("node:fs");
      const client = new MllpClient({ host: "127.0.0.1", port: Number(process.argv[1]), tls: false, ackTimeout: 5000 });
      (async () => {
        const codes = [];
        for await (const ack of client.stream(fs.readFileSync("samples/adt-a01.hl7", "utf8"))) codes.push(ack.code);
        console.log("STREAM " + codes.join(" "));
      })();
    `, [String(rx.port)]);
    assert.equal(run.stdout, "STREAM CA AA\n");
    assertPromptExit(run);
  } finally {
    await rx.close();
  }
});

test("shutdown: a process exits promptly after CONNECTION_REFUSED (plain TCP, nothing listening)", async () => {
  const run = await runScript(`
    const net = require("node:net");
    const { MllpClient } = require("./index.cjs");
    // A port that was free a moment ago: listen on 0, note it, close.
    const probe = net.createServer().listen(0, "127.0.0.1", () => {
      const port = probe.address().port;
      probe.close(() => {
        const client = new MllpClient({ host: "127.0.0.1", port, tls: false });
        client.send("MSH|^~\\\\&|S|F|R|F|20260510||ADT^A01|REF1|P|2.5").then(
          () => console.log("UNEXPECTED AA"),
          (error) => console.log("ERROR " + error.code + " " + error.sent),
        );
      });
    });
  `);
  assert.equal(run.stdout, "ERROR CONNECTION_REFUSED false\n");
  assertPromptExit(run);
});

test("shutdown: a process exits promptly after lib/testing.cjs startTestReceiver() is closed", async () => {
  const run = await runScript(`
    const { startTestReceiver, MllpClient } = require("./lib/testing.cjs");
    (async () => {
      const rx = await startTestReceiver({ mode: "enhanced" });
      const client = new MllpClient({ host: "127.0.0.1", port: rx.port, tls: false });
      const acks = await Promise.all([1, 2, 3].map((n) => client.send("MSH|^~\\\\&|S|F|R|F|20260510||ADT^A01|RX" + n + "|P|2.5")));
      await rx.close();
      console.log("RECEIVED " + rx.received.length + " " + acks.map((a) => a.code + ":" + a.controlId).join(" "));
    })();
  `);
  assert.equal(run.stdout, "RECEIVED 3 CA:RX1 CA:RX2 CA:RX3\n");
  assertPromptExit(run);
});

test("shutdown: a pooled client's idle connections do not keep the process alive (with and without close())", async () => {
  const closedByClient = [];
  const rx = await answeringReceiver((socket) => socket.on("end", () => closedByClient.push(Date.now())));
  try {
    for (const callClose of [true, false]) {
      const before = closedByClient.length;
      const run = await runScript(`
        const { MllpClient } = require("./index.cjs");
        const client = new MllpClient({ host: "127.0.0.1", port: Number(process.argv[1]), tls: false, pool: { max: 2, idleTimeout: 30000 } });
        (async () => {
          const ids = [];
          for (let i = 0; i < 3; i++) ids.push((await client.send("MSH|^~\\\\&|S|F|R|F|20260510||ADT^A01|POOL" + i + "|P|2.5")).controlId);
          if (process.argv[2] === "close") await client.close();
          console.log("POOL " + ids.join(" "));
        })();
      `, [String(rx.port), callClose ? "close" : "keep"]);
      assert.equal(run.stdout, "POOL POOL0 POOL1 POOL2\n");
      // idleTimeout is 30 s: an idle pooled socket that held the loop would show here.
      assertPromptExit(run);
      assert.equal(rx.connections.length, before + 1, "the pool reused one connection");
    }
  } finally {
    await rx.close();
  }
});

// ---------------------------------------------------------------------------------------
// worker_threads
// ---------------------------------------------------------------------------------------

const WORKER_SCRIPT = `
const { Worker } = require("node:worker_threads");
const path = require("node:path");
const net = require("node:net");
const { MllpClient } = require("./index.cjs");
const { frame, ackFor, collectFrames } = require("./__test__/helpers.js");

// Each worker loads the addon, starts one send and reports "pending"; then, by mode:
//   exit      process.exit(0) inside the worker while the send is pending
//   terminate the main thread calls worker.terminate()
//   throw     an uncaught exception ends the worker
//   stream    like exit, with a stream() pending instead of a send()
//   normal    the send completes (against a receiver that answers) and the worker ends
const WORKER = \`
const { workerData, parentPort } = require("node:worker_threads");
const { MllpClient } = require(workerData.root + "/index.cjs");
const client = new MllpClient({ host: "127.0.0.1", port: workerData.port, tls: false, ackTimeout: workerData.ackTimeout });
const message = "MSH|^~\\\\\\\\&|S|F|R|F|20260510||ADT^A01|" + workerData.id + "|P|2.5";
const report = (text) => parentPort.postMessage(text);
if (workerData.mode === "stream") {
  client.stream(message)[Symbol.asyncIterator]().next().then((r) => report("settled " + r.value.code), (e) => report("settled " + e.code));
} else {
  client.send(message).then((a) => report("settled " + a.code + " " + a.controlId), (e) => report("settled " + e.code));
}
report("pending");
if (workerData.mode === "exit" || workerData.mode === "stream") setTimeout(() => process.exit(0), 150);
if (workerData.mode === "throw") setTimeout(() => { throw new Error("worker blew up"); }, 150);
\`;

(async () => {
  const started = Date.now();
  // A receiver that reads and never answers, and one that answers AA.
  const silentSockets = [];
  const silent = net.createServer((s) => { silentSockets.push(s); s.on("error", () => {}); s.resume(); });
  const answering = net.createServer(async (s) => {
    s.on("error", () => {});
    const received = (await collectFrames(s)).subarray(1, -2).toString("latin1");
    s.write(frame(ackFor(received)));
  });
  for (const server of [silent, answering]) await new Promise((r) => server.listen(0, "127.0.0.1", r));

  const ACK_TIMEOUT = 1200;
  const modes = ["exit", "terminate", "throw", "stream", "exit", "terminate", "normal", "normal"];
  const results = await Promise.all(modes.map((mode, n) => new Promise((resolve) => {
    const port = (mode === "normal" ? answering : silent).address().port;
    const worker = new Worker(WORKER, { eval: true, workerData: { root: process.cwd(), port, ackTimeout: ACK_TIMEOUT, mode, id: "W" + n } });
    const result = { mode, messages: [], error: null, exitCode: null };
    worker.on("message", (m) => {
      result.messages.push(m);
      if (m === "pending" && mode === "terminate") setTimeout(() => worker.terminate(), 150);
    });
    worker.on("error", (e) => (result.error = e.message));
    worker.on("exit", (code) => {
      result.exitCode = code;
      resolve(result);
    });
  })));
  const openAtWorkersGone = silentSockets.filter((s) => !s.destroyed && !s.readableEnded).length;

  // The orphaned sends of the dead workers settle now (ackTimeout), on torn-down
  // environments: the process must not crash, and their sockets must close.
  await new Promise((r) => setTimeout(r, ACK_TIMEOUT + 800));
  const openAfterAckTimeout = silentSockets.filter((s) => !s.destroyed && !s.readableEnded).length;

  // The addon still works on the main thread.
  const client = new MllpClient({ host: "127.0.0.1", port: answering.address().port, tls: false, ackTimeout: 5000 });
  const main = await client.send("MSH|^~\\\\&|S|F|R|F|20260510||ADT^A01|MAIN1|P|2.5");
  for (const s of silentSockets) s.destroy();
  await Promise.all([silent, answering].map((server) => new Promise((r) => server.close(r))));
  console.log(JSON.stringify({ results, silentConnections: silentSockets.length, openAtWorkersGone, openAfterAckTimeout, main: main.code + " " + main.controlId, ms: Date.now() - started }));
})();
`;

test("shutdown: worker_threads that exit, are terminated or throw while a send is pending do not crash the process", async () => {
  const run = await runScript(WORKER_SCRIPT, [], 30000);
  assert.doesNotMatch(run.stderr, /panicked|Segmentation|Abort|FATAL|napi/i, "no crash report on stderr");
  assertPromptExit(run);
  const report = JSON.parse(run.stdout);
  const byMode = (mode) => report.results.filter((r) => r.mode === mode);

  // Dying workers: they started their send, never saw it settle, and ended as they were told.
  for (const r of [...byMode("exit"), ...byMode("stream")]) {
    assert.deepEqual(r.messages, ["pending"], `${r.mode}: ${JSON.stringify(r)}`);
    assert.equal(r.exitCode, 0);
  }
  for (const r of byMode("terminate")) {
    assert.deepEqual(r.messages, ["pending"], `terminate: ${JSON.stringify(r)}`);
    assert.equal(r.exitCode, 1, "terminate() ends a worker with exit code 1");
  }
  const [thrown] = byMode("throw");
  assert.deepEqual(thrown.messages, ["pending"]);
  assert.equal(thrown.error, "worker blew up");
  assert.equal(thrown.exitCode, 1);

  // Workers that complete a send normally get their own AA.
  const normal = byMode("normal");
  assert.equal(normal.length, 2);
  for (const r of normal) {
    assert.equal(r.exitCode, 0);
    assert.equal(r.messages.length, 2);
    assert.equal(r.messages[0], "pending");
    assert.match(r.messages[1], /^settled AA W[67]$/);
  }

  // Every dying worker had connected; their connections were closed once the orphaned
  // sends hit ackTimeout (at the latest), and the main thread still sends.
  assert.equal(report.silentConnections, 6);
  assert.equal(report.openAfterAckTimeout, 0, "a dead worker's connection is still open after its ackTimeout");
  assert.equal(report.main, "AA MAIN1");
});

test("shutdown: a test receiver started in a worker stops listening when the worker is terminated", async () => {
  const run = await runScript(`
    const { Worker } = require("node:worker_threads");
    const { MllpClient } = require("./index.cjs");
    (async () => {
      const worker = new Worker(\`
        const { parentPort, workerData } = require("node:worker_threads");
        const { startTestReceiver } = require(workerData.root + "/lib/testing.cjs");
        startTestReceiver({}).then((rx) => parentPort.postMessage(rx.port));
      \`, { eval: true, workerData: { root: process.cwd() } });
      const port = await new Promise((resolve) => worker.once("message", resolve));
      const client = new MllpClient({ host: "127.0.0.1", port, tls: false, ackTimeout: 2000, connectTimeout: 2000 });
      const message = "MSH|^~\\\\&|S|F|R|F|20260510||ADT^A01|RXW1|P|2.5";
      const before = await client.send(message);
      const exitCode = await worker.terminate();
      const after = await client.send(message).then((a) => a.code, (e) => e.code);
      console.log("BEFORE " + before.code + " EXIT " + exitCode + " AFTER " + after);
    })();
  `);
  assert.doesNotMatch(run.stderr, /panicked|Segmentation|Abort|FATAL/i);
  assert.equal(run.stdout, "BEFORE AA EXIT 1 AFTER CONNECTION_REFUSED\n");
  assertPromptExit(run);
});
