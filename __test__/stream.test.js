"use strict";
// client.stream(): enhanced-mode ACK frames over one connection, against node:net receivers
// written here (and once against the library's own enhanced-mode receiver).

const test = require("node:test");
const assert = require("node:assert/strict");
const { MllpClient, MllpClientError, AckApplicationError, AckCommitReject } = require("../index.cjs");
const { startTestReceiver } = require("../lib/testing.cjs");
const { startRawReceiver, frame, ackFor, collectFrames, onEachMessage, sample, sleep, runScript } = require("./helpers.js");

const message = sample("adt-a01");

function clientFor(port, extra = {}) {
  return new MllpClient({ host: "127.0.0.1", port, tls: false, ...extra });
}

/** A receiver that answers every message with `frames(message)` (strings or Buffers), each after `gap` ms. */
async function scripted(frames, { gap = 0, then = "keep" } = {}) {
  return startRawReceiver(async (socket) => {
    const got = (await collectFrames(socket)).toString("utf8");
    const msg = got.slice(1, -2);
    for (const f of frames(msg)) {
      if (gap) await sleep(gap);
      if (socket.destroyed) return;
      socket.write(typeof f === "string" ? frame(f) : f);
    }
    if (then === "close") socket.end();
  });
}

async function collect(iterable) {
  const seen = [];
  try {
    for await (const ack of iterable) seen.push(ack.code);
  } catch (error) {
    return { seen, error };
  }
  return { seen };
}

/**
 * A receiver that answers CA and never the final ACK. `closed` resolves, with the time, when
 * the client's connection closes.
 */
async function caOnlyReceiver() {
  let onClose;
  const closed = new Promise((resolve) => (onClose = resolve));
  const receiver = await startRawReceiver(async (socket) => {
    socket.on("close", () => onClose(Date.now()));
    const msg = (await collectFrames(socket)).toString("utf8").slice(1, -2);
    socket.write(frame(ackFor(msg, "CA")));
  });
  return { receiver, closed };
}

test("CA then AA: yields both, then completes; the connection is closed after AA", async () => {
  let closed;
  const receiver = await startRawReceiver(async (socket) => {
    closed = new Promise((resolve) => socket.on("close", resolve));
    const msg = (await collectFrames(socket)).toString("utf8").slice(1, -2);
    socket.write(frame(ackFor(msg, "CA")));
    await sleep(30);
    socket.write(frame(ackFor(msg, "AA", "|Processed")));
  });
  try {
    const acks = [];
    for await (const ack of clientFor(receiver.port).stream(message)) acks.push(ack);
    assert.deepEqual(acks.map((a) => [a.code, a.controlId]), [["CA", "MSG00001"], ["AA", "MSG00001"]]);
    assert.equal(acks[1].message, "Processed");
    await closed; // the client closed its side after the final ACK
  } finally {
    await receiver.close();
  }
});

// The event-loop path: Node on Linux (it uses epoll), unless GLION_MLLP_IO=tokio. `npm test`
// runs this file on both paths.
const ON_EVENT_LOOP = !process.versions.bun && process.platform === "linux" && process.env.GLION_MLLP_IO !== "tokio";

test(`the stream runs on ${ON_EVENT_LOOP ? "the event loop (Node)" : "tokio (GLION_MLLP_IO=tokio, or not Node on Linux)"}, as send() does`, async () => {
  // The event-loop driver keeps each open stream's exchange in its own table; tokio's never does.
  const binding = require("../binding.cjs");
  const { receiver } = await caOnlyReceiver();
  try {
    const before = binding.__eventLoopStreamsForTests();
    const it = clientFor(receiver.port, { ackTimeout: 5000 }).stream(message);
    assert.equal((await it.next()).value.code, "CA");
    assert.equal(binding.__eventLoopStreamsForTests() - before, ON_EVENT_LOOP ? 1 : 0, "open streams on the event loop while waiting for the final ACK");
    await it.return();
    assert.equal(binding.__eventLoopStreamsForTests(), before, "return() ends the event-loop exchange at once");
  } finally {
    await receiver.close();
  }
});

test("CA then AE with ERR: yields CA, then throws AckApplicationError with the ERR fields", async () => {
  const receiver = await scripted((m) => [ackFor(m, "CA"), ackFor(m, "AE", "|Patient not found\rERR||PID^1^3|204^Unknown key identifier^HL70357|E")]);
  try {
    const { seen, error } = await collect(clientFor(receiver.port).stream(message));
    assert.deepEqual(seen, ["CA"]);
    assert.ok(error instanceof AckApplicationError);
    assert.equal(error.code, "AE");
    assert.equal(error.message, "Patient not found");
    assert.equal(error.errorCode, "204");
    assert.equal(error.severity, "E");
    assert.equal(error.controlId, "MSG00001");
  } finally {
    await receiver.close();
  }
});

test("CA then CR: throws AckCommitReject after the CA", async () => {
  const receiver = await scripted((m) => [ackFor(m, "CA"), ackFor(m, "CR", "|Queue full")]);
  try {
    const { seen, error } = await collect(clientFor(receiver.port).stream(message));
    assert.deepEqual(seen, ["CA"]);
    assert.ok(error instanceof AckCommitReject);
    assert.equal(error.message, "Queue full");
  } finally {
    await receiver.close();
  }
});

test("AA alone: one ack, then done", async () => {
  const receiver = await scripted((m) => [ackFor(m, "AA")]);
  try {
    const { seen, error } = await collect(clientFor(receiver.port).stream(message));
    assert.equal(error, undefined);
    assert.deepEqual(seen, ["AA"]);
  } finally {
    await receiver.close();
  }
});

test("CA then silence: TIMEOUT after the CA was yielded, within ackTimeout of the CA", async () => {
  const receiver = await scripted((m) => [ackFor(m, "CA")]);
  try {
    let caAt;
    const seen = [];
    const started = Date.now();
    await assert.rejects(
      (async () => {
        for await (const ack of clientFor(receiver.port, { ackTimeout: 300 }).stream(message)) {
          seen.push(ack.code);
          caAt = Date.now();
        }
      })(),
      (error) => error instanceof MllpClientError && error.code === "TIMEOUT" && error.sent === true,
    );
    const waited = Date.now() - caAt;
    assert.deepEqual(seen, ["CA"]);
    assert.ok(waited >= 250 && waited < 2000, `timed out ${waited} ms after the CA`);
    assert.ok(Date.now() - started < 3000);
  } finally {
    await receiver.close();
  }
});

test("per-frame ackTimeout: a final ACK later than ackTimeout after the write but within it after the CA is accepted", async () => {
  const receiver = await startRawReceiver(async (socket) => {
    const msg = (await collectFrames(socket)).toString("utf8").slice(1, -2);
    await sleep(200);
    socket.write(frame(ackFor(msg, "CA")));
    await sleep(200);
    socket.write(frame(ackFor(msg, "AA")));
  });
  try {
    const { seen, error } = await collect(clientFor(receiver.port, { ackTimeout: 300 }).stream(message));
    assert.equal(error, undefined);
    assert.deepEqual(seen, ["CA", "AA"]);
  } finally {
    await receiver.close();
  }
});

test("a final ACK that arrived while the consumer was busy for longer than ackTimeout is still yielded", async () => {
  const receiver = await scripted((m) => [ackFor(m, "CA"), ackFor(m, "AA")], { gap: 20 });
  try {
    const it = clientFor(receiver.port, { ackTimeout: 300 }).stream(message);
    assert.equal((await it.next()).value.code, "CA");
    await sleep(800); // the AA arrives 20 ms after the CA; nobody asks for it until now
    assert.equal((await it.next()).value.code, "AA");
    assert.equal((await it.next()).done, true);
  } finally {
    await receiver.close();
  }
});

test("while the consumer is busy between frames with the final ACK waiting, the process stays idle", async () => {
  const receiver = await scripted((m) => [ackFor(m, "CA"), ackFor(m, "AA")], { gap: 20 });
  try {
    const it = clientFor(receiver.port, { ackTimeout: 5000 }).stream(message);
    assert.equal((await it.next()).value.code, "CA");
    const before = process.cpuUsage();
    await sleep(1000);
    const used = process.cpuUsage(before);
    const cpuMs = (used.user + used.system) / 1000;
    // A socket left readable in a level-triggered poll set would keep the loop spinning (~1000 ms).
    assert.ok(cpuMs < 400, `${cpuMs} ms of CPU while waiting 1000 ms`);
    assert.equal((await it.next()).value.code, "AA");
  } finally {
    await receiver.close();
  }
});

test("a client with pool: stream() uses its own connection and leaves the pooled one to send()", async () => {
  const receiver = await startRawReceiver((socket) => {
    onEachMessage(socket, async (msg) => {
      if (!msg.includes("|MSG00001|")) return socket.write(frame(ackFor(msg, "AA")));
      socket.write(frame(ackFor(msg, "CA")));
      await sleep(20);
      if (!socket.destroyed) socket.write(frame(ackFor(msg, "AA")));
    });
  });
  try {
    const client = clientFor(receiver.port, { pool: { max: 1 } });
    assert.equal((await client.send(message.replace("MSG00001", "SEND1"))).code, "AA");
    const { seen, error } = await collect(client.stream(message));
    assert.equal(error, undefined);
    assert.deepEqual(seen, ["CA", "AA"]);
    assert.equal((await client.send(message.replace("MSG00001", "SEND2"))).code, "AA");
    await client.close();
    // the two sends shared the pooled connection; the stream had one of its own
    assert.equal(receiver.connections.length, 2);
  } finally {
    await receiver.close();
  }
});

test("CA then close: CONNECTION_CLOSED after the CA", async () => {
  // biome-ignore lint/suspicious/noThenProperty: `then` is an option of this test's scripted receiver, never awaited
  const receiver = await scripted((m) => [ackFor(m, "CA")], { then: "close" });
  try {
    const { seen, error } = await collect(clientFor(receiver.port).stream(message));
    assert.deepEqual(seen, ["CA"]);
    assert.ok(error instanceof MllpClientError);
    assert.equal(error.code, "CONNECTION_CLOSED");
    assert.equal(error.sent, true);
  } finally {
    await receiver.close();
  }
});

test("break after the first frame: the receiver sees the connection close at once", async () => {
  const { receiver, closed } = await caOnlyReceiver();
  try {
    const seen = [];
    for await (const ack of clientFor(receiver.port).stream(message)) {
      seen.push(ack.code);
      break;
    }
    const brokeAt = Date.now();
    assert.deepEqual(seen, ["CA"]);
    const at = await Promise.race([closed, sleep(2000).then(() => "never")]);
    assert.notEqual(at, "never", "the receiver never saw the connection close");
    assert.ok(at - brokeAt < 500, `closed ${at - brokeAt} ms after break`);
  } finally {
    await receiver.close();
  }
});

test("an exception in the loop body closes the connection too", async () => {
  const { receiver, closed } = await caOnlyReceiver();
  try {
    await assert.rejects(async () => {
      for await (const ack of clientFor(receiver.port).stream(message)) throw new Error(`stop at ${ack.code}`);
    }, /stop at CA/);
    const result = await Promise.race([closed.then(() => "closed"), sleep(2000).then(() => "open")]);
    assert.equal(result, "closed");
  } finally {
    await receiver.close();
  }
});

test("both frames in one TCP chunk, and byte by byte", async () => {
  for (const mode of ["chunk", "bytes"]) {
    const receiver = await startRawReceiver(async (socket) => {
      const msg = (await collectFrames(socket)).toString("utf8").slice(1, -2);
      const both = Buffer.concat([frame(ackFor(msg, "CA")), frame(ackFor(msg, "AA"))]);
      if (mode === "chunk") socket.write(both);
      else {
        for (const byte of both) {
          if (socket.destroyed) return;
          socket.write(Buffer.from([byte]));
          await sleep(1);
        }
      }
    });
    try {
      const { seen, error } = await collect(clientFor(receiver.port).stream(message));
      assert.equal(error, undefined, mode);
      assert.deepEqual(seen, ["CA", "AA"], mode);
    } finally {
      await receiver.close();
    }
  }
});

test("a mismatched control id in the second frame: MALFORMED_ACK after the CA", async () => {
  const receiver = await scripted((m) => [ackFor(m, "CA"), ackFor("MSH|^~\\&|||||||ADT|OTHER-ID|P|2.5", "AA")]);
  try {
    const { seen, error } = await collect(clientFor(receiver.port).stream(message));
    assert.deepEqual(seen, ["CA"]);
    assert.ok(error instanceof MllpClientError);
    assert.equal(error.code, "MALFORMED_ACK");
    assert.match(error.message, /OTHER-ID/);
  } finally {
    await receiver.close();
  }
});

test("stream() returns at once; a bad message rejects the first next() without connecting", async () => {
  const receiver = await startRawReceiver();
  try {
    const client = clientFor(receiver.port);
    const iterable = client.stream("PID|1|not a header");
    assert.equal(typeof iterable[Symbol.asyncIterator], "function");
    await assert.rejects(iterable.next(), (e) => e instanceof MllpClientError && e.code === "INVALID_INPUT" && e.sent === false);
    await assert.rejects(client.stream(42).next(), (e) => e instanceof MllpClientError && e.code === "INVALID_INPUT");
    await sleep(50);
    assert.equal(receiver.connections.length, 0);
  } finally {
    await receiver.close();
  }
});

test("AbortSignal during a stream rejects with the reason and closes the connection", async () => {
  const { receiver, closed } = await caOnlyReceiver();
  try {
    const controller = new AbortController();
    const reason = { why: "operator cancelled" };
    const seen = [];
    await assert.rejects(
      (async () => {
        for await (const ack of clientFor(receiver.port).stream(message, { signal: controller.signal })) {
          seen.push(ack.code);
          setTimeout(() => controller.abort(reason), 20);
        }
      })(),
      (error) => error === reason,
    );
    assert.deepEqual(seen, ["CA"]);
    assert.equal(await Promise.race([closed.then(() => "closed"), sleep(2000).then(() => "open")]), "closed");
  } finally {
    await receiver.close();
  }
});

test("maxFrameBytes applies to every frame of a stream", async () => {
  const receiver = await scripted((m) => [ackFor(m, "CA"), ackFor(m, "AA", `|${"x".repeat(500)}`)]);
  try {
    const { seen, error } = await collect(clientFor(receiver.port, { maxFrameBytes: 300 }).stream(message));
    assert.deepEqual(seen, ["CA"]);
    assert.equal(error.code, "MALFORMED_FRAME");
  } finally {
    await receiver.close();
  }
});

test("overlapping next() calls are served in order, one frame each", async () => {
  const receiver = await scripted((m) => [ackFor(m, "CA"), ackFor(m, "AA")], { gap: 20 });
  try {
    const it = clientFor(receiver.port).stream(message);
    const [a, b, c] = await Promise.all([it.next(), it.next(), it.next()]);
    assert.equal(a.value.code, "CA");
    assert.equal(b.value.code, "AA");
    assert.equal(c.done, true);
  } finally {
    await receiver.close();
  }
});

test("send() against an enhanced-mode receiver resolves with the CA", async () => {
  const receiver = await startTestReceiver({ mode: "enhanced", delay: 100 });
  try {
    const ack = await clientFor(receiver.port).send(message);
    assert.equal(ack.code, "CA");
    assert.equal(ack.controlId, "MSG00001");
  } finally {
    await receiver.close();
  }
});

test("the library's enhanced-mode receiver: CA, delay, then the code chosen by reply", async () => {
  const receiver = await startTestReceiver({ mode: "enhanced", delay: 50, reply: () => ({ code: "AE", text: "Bad PID", errorCode: "204", severity: "E" }) });
  try {
    const { seen, error } = await collect(clientFor(receiver.port).stream(message));
    assert.deepEqual(seen, ["CA"]);
    assert.ok(error instanceof AckApplicationError);
    assert.equal(error.errorCode, "204");
    assert.equal(receiver.received.length, 1);
    assert.equal(receiver.received[0].controlId, "MSG00001");
    assert.equal(receiver.received[0].acks.length, 2);
  } finally {
    await receiver.close();
  }
});

test("garbage collection of an abandoned iterator closes its connection", { skip: typeof Bun !== "undefined" && "runs node --expose-gc in a child process; Bun's GC is driven differently" }, async () => {
  const { spawn } = require("node:child_process");
  const { receiver, closed } = await caOnlyReceiver(); // CA, then nothing: the stream stays open
  // The child takes the CA, drops every reference to the iterator, and forces GC while its
  // event loop stays alive; it never calls return() or close().
  const script = `
    const { MllpClient } = require("./index.cjs");
    (async () => {
      let it = new MllpClient({ host: "127.0.0.1", port: ${receiver.port}, tls: false, ackTimeout: 20000 })
        .stream(require("fs").readFileSync("samples/adt-a01.hl7"));
      const first = await it.next();
      console.log(first.value.code);
      it = null;
      const keepAlive = setInterval(() => globalThis.gc(), 50);
      setTimeout(() => clearInterval(keepAlive), 5000);
    })();`;
  const child = spawn(process.execPath, ["--expose-gc", "-e", script], { cwd: require("node:path").join(__dirname, ".."), stdio: ["ignore", "pipe", "inherit"] });
  try {
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const result = await Promise.race([
      closed.then(() => "closed"),
      sleep(4000).then(() => "open"),
    ]);
    assert.equal(out.trim(), "CA");
    assert.equal(result, "closed", "the connection outlived its garbage-collected iterator");
  } finally {
    child.kill();
    await receiver.close();
  }
});

test("a worker terminated with streams open (one between frames, one waiting for a frame) ends cleanly and closes them", { skip: typeof Bun !== "undefined" && "Bun's worker_threads differ; the event-loop path is Node's" }, async () => {
  const script = `
    const { Worker } = require("node:worker_threads");
    const net = require("node:net");
    const { frame, ackFor, onEachMessage } = require("./__test__/helpers.js");
    (async () => {
      const sockets = [];
      // Answers every frame with CA and nothing more.
      const server = net.createServer((s) => {
        sockets.push(s);
        s.on("error", () => {});
        onEachMessage(s, (message) => s.write(frame(ackFor(message, "CA"))));
      });
      await new Promise((r) => server.listen(0, "127.0.0.1", r));
      const worker = new Worker(\`
        const { workerData, parentPort } = require("node:worker_threads");
        const { MllpClient } = require(workerData.root + "/index.cjs");
        const msg = (id) => "MSH|^~\\\\\\\\&|S|F|R|F|20260510||ADT^A01|" + id + "|P|2.5";
        const client = new MllpClient({ host: "127.0.0.1", port: workerData.port, tls: false, ackTimeout: 20000 });
        (async () => {
          const paused = client.stream(msg("S1"));
          const waiting = client.stream(msg("S2"));
          const codes = [(await paused.next()).value.code, (await waiting.next()).value.code];
          waiting.next().catch(() => {}); // pending when the worker ends
          parentPort.postMessage(codes.join(","));
        })();
      \`, { eval: true, workerData: { root: process.cwd(), port: server.address().port } });
      const codes = await new Promise((r) => worker.on("message", r));
      await new Promise((r) => setTimeout(r, 100));
      const code = await worker.terminate();
      await new Promise((r) => setTimeout(r, 200));
      const open = sockets.filter((s) => !s.destroyed && !s.readableEnded).length;
      for (const s of sockets) s.destroy();
      server.close();
      console.log(JSON.stringify({ code, codes, connections: sockets.length, open }));
    })();
  `;
  const run = await runScript(script);
  assert.equal(run.signal, null, run.stderr);
  assert.equal(run.code, 0, run.stderr);
  assert.doesNotMatch(run.stderr, /Assertion|uv_loop_close|FATAL|Segmentation|panicked/i);
  const report = JSON.parse(run.stdout);
  assert.equal(report.code, 1, "terminate() ends a worker with exit code 1");
  assert.equal(report.codes, "CA,CA");
  assert.equal(report.connections, 2);
  assert.equal(report.open, 0, "a stream's connection outlived its terminated worker");
});
