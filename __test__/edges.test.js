"use strict";
// Where users meet the client: bytes from another realm, detached views, signal look-alikes,
// and batches answered by a batch of ACKs. Real sockets on 127.0.0.1.

const { test } = require("node:test");
const assert = require("node:assert/strict");
const vm = require("node:vm");
const { Worker } = require("node:worker_threads");

const { MllpClient, AckApplicationError } = require("../index.cjs");
const { withReceiver, clientFor, frame, ackFor, onEachMessage, transportError, sample, sleep } = require("./helpers.js");

const MESSAGE = sample("adt-a01").replace(/\r?\n/g, "\r");

/** A receiver that answers every message with AA and records what arrived (latin1). */
function answering(received) {
  return (socket) =>
    onEachMessage(socket, (text) => {
      received.push(text);
      socket.write(frame(ackFor(text)));
    });
}

test("a Uint8Array made in another realm (node:vm) is sent as its bytes, by send() and stream()", async () => {
  const foreign = vm.runInNewContext("(bytes) => new Uint8Array(bytes)")(Array.from(Buffer.from(MESSAGE, "latin1")));
  assert.equal(foreign instanceof Uint8Array, false, "the view comes from another realm");
  const received = [];
  await withReceiver(answering(received), async (rx) => {
    const client = clientFor(rx);
    const ack = await client.send(foreign);
    assert.equal(ack.code, "AA");
    assert.equal(ack.controlId, "MSG00001");
    const acks = [];
    for await (const a of client.stream(foreign)) acks.push(a.code);
    assert.deepEqual(acks, ["AA"]);
    assert.deepEqual(received, [MESSAGE, MESSAGE]);
  });
});

test("a Uint8Array made in a worker thread, and a subarray of a foreign view, are bytes too", async () => {
  const fromWorker = await new Promise((resolve, reject) => {
    const worker = new Worker(`require("node:worker_threads").parentPort.postMessage(new TextEncoder().encode(${JSON.stringify("xx" + MESSAGE)}))`, { eval: true });
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  const foreignView = vm.runInNewContext("(text) => Uint8Array.from(text, (c) => c.charCodeAt(0)).subarray(2)")("yy" + MESSAGE);
  const received = [];
  await withReceiver(answering(received), async (rx) => {
    const client = clientFor(rx);
    assert.equal((await client.send(fromWorker.subarray(2))).code, "AA");
    assert.equal((await client.send(foreignView)).code, "AA");
    assert.deepEqual(received, [MESSAGE, MESSAGE]);
  });
});

test("PEM given as a foreign-realm Uint8Array is read; a detached one is INVALID_INPUT at construction", () => {
  const foreignPem = vm.runInNewContext("new Uint8Array([110, 111])"); // "no": not PEM, but bytes
  assert.throws(
    () => new MllpClient({ host: "127.0.0.1", port: 1, tls: { ca: foreignPem } }),
    (error) => transportError("INVALID_INPUT")(error) && /tls\.ca contains no PEM certificate/.test(error.message),
  );
  const buffer = new ArrayBuffer(16);
  const detached = new Uint8Array(buffer);
  structuredClone(buffer, { transfer: [buffer] });
  assert.throws(
    () => new MllpClient({ host: "127.0.0.1", port: 1, tls: { ca: detached } }),
    (error) => transportError("INVALID_INPUT")(error) && /tls\.ca is a Uint8Array whose buffer was detached/.test(error.message),
  );
});

test("a detached message view is INVALID_INPUT (not a TypeError) from send() and stream(), before any socket", async () => {
  let connections = 0;
  await withReceiver(() => connections++, async (rx) => {
    const client = clientFor(rx);
    for (const call of ["send", "stream"]) {
      const bytes = Buffer.from(MESSAGE, "latin1");
      const view = new Uint8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
      structuredClone(view.buffer, { transfer: [view.buffer] });
      assert.equal(view.byteLength, 0, "the view is detached");
      const attempt = call === "send" ? client.send(view) : client.stream(view)[Symbol.asyncIterator]().next();
      await assert.rejects(attempt, (error) => transportError("INVALID_INPUT", false)(error) && /detached/.test(error.message));
    }
    await sleep(50);
    assert.equal(connections, 0, "no connection was opened");
  });
});

test("a signal that is not AbortSignal-like is INVALID_INPUT at once: no hang, no unhandled rejection", async () => {
  const unhandled = [];
  const onUnhandled = (reason) => unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  let connections = 0;
  try {
    await withReceiver(() => connections++, async (rx) => {
      const client = clientFor(rx);
      const lookAlikes = [
        { aborted: false, addEventListener() {} }, // no removeEventListener: used to hang the send
        { addEventListener() {}, removeEventListener() {} }, // no aborted
        { aborted: "no", addEventListener() {}, removeEventListener() {} },
        "signal",
        null,
      ];
      for (const signal of lookAlikes) {
        for (const call of ["send", "stream"]) {
          const started = Date.now();
          const attempt = call === "send" ? client.send(MESSAGE, { signal }) : client.stream(MESSAGE, { signal })[Symbol.asyncIterator]().next();
          await assert.rejects(attempt, (error) => transportError("INVALID_INPUT", false)(error) && /signal must be an AbortSignal/.test(error.message));
          assert.ok(Date.now() - started < 2000, "rejected at once");
        }
      }
      // a look-alike with all three is accepted, and its abort works
      const listeners = new Set();
      const lookAlike = {
        aborted: false,
        reason: new Error("look-alike aborted"),
        addEventListener: (_type, fn) => listeners.add(fn),
        removeEventListener: (_type, fn) => listeners.delete(fn),
      };
      const pending = client.send(MESSAGE, { signal: lookAlike });
      setTimeout(() => {
        lookAlike.aborted = true;
        for (const fn of listeners) fn();
      }, 100);
      await assert.rejects(pending, (error) => error === lookAlike.reason);
    });
    await sleep(50);
    assert.deepEqual(unhandled, []);
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
});

// --- batches -------------------------------------------------------------------------------

const BATCH = ["FHS|^~\\&|SENDER|FACILITY|RECEIVER|FACILITY|20260510120000||F1", "BHS|^~\\&|SENDER|FACILITY", MESSAGE, MESSAGE.replace("MSG00001", "MSG00002"), "BTS|2", "FTS|1"].join("\r");

/** What a receiver answers a batch with: a batch of ACKs, the first one `first`. */
function batchOfAcks(first) {
  return [
    "FHS|^~\\&|RECEIVER|FACILITY|SENDER|FACILITY|20260510120001||FA1",
    "BHS|^~\\&|RECEIVER|FACILITY",
    "MSH|^~\\&|RECEIVER|FACILITY|SENDER|FACILITY|20260510120001||ACK^A01^ACK|A1|P|2.5",
    `MSA|${first}|MSG00001${first === "AA" ? "" : "|Patient not found"}`,
    ...(first === "AA" ? [] : ["ERR||PID^3|204^Unknown key identifier^HL70357|E"]),
    "MSH|^~\\&|RECEIVER|FACILITY|SENDER|FACILITY|20260510120001||ACK^A01^ACK|A2|P|2.5",
    "MSA|AE|MSG00002|Other",
    "ERR||PID^5|207^Application internal error^HL70357|W",
    "BTS|2",
    "FTS|1",
  ].join("\r");
}

test("a batch answered by a batch of ACKs: the first MSA decides, raw is the whole frame, no control id check", async () => {
  for (const first of ["AA", "AE"]) {
    const received = [];
    await withReceiver(
      (socket) =>
        onEachMessage(socket, (text) => {
          received.push(text);
          socket.write(frame(batchOfAcks(first)));
        }),
      async (rx) => {
        const client = clientFor(rx);
        if (first === "AA") {
          const ack = await client.send(BATCH);
          assert.equal(ack.code, "AA");
          assert.equal(ack.controlId, "MSG00001");
          assert.deepEqual(ack.errors, []);
          assert.equal(ack.raw, batchOfAcks("AA"));
        } else {
          await assert.rejects(client.send(BATCH), (error) => {
            assert.ok(error instanceof AckApplicationError, `${error.name}: ${error.message}`);
            assert.equal(error.message, "Patient not found");
            assert.equal(error.errorCode, "204");
            assert.equal(error.errors.length, 1, "only the first message's ERR");
            assert.equal(error.raw, batchOfAcks("AE"));
            return true;
          });
        }
        assert.deepEqual(received, [BATCH]);
      },
    );
  }
});

test("a plain message answered by a batch of ACKs is read too, and its control id is checked against the first MSA", async () => {
  await withReceiver(
    (socket) => onEachMessage(socket, () => socket.write(frame(batchOfAcks("AA")))),
    async (rx) => {
      const client = clientFor(rx);
      assert.equal((await client.send(MESSAGE)).controlId, "MSG00001");
      await assert.rejects(client.send(MESSAGE.replace("MSG00001", "OTHER")), transportError("MALFORMED_ACK", true));
    },
  );
});
