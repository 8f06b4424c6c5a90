"use strict";
// Hostile receivers (issue 8, items 2 and 5): each receiver is a plain `node:net` server
// written here that misbehaves in one way an unattended MLLP client meets in the field. Each
// test checks the error code, the `sent` flag, and *when* the send ended (so a limit that
// stopped working would show as a late or missing settlement).

const test = require("node:test");
const assert = require("node:assert/strict");

const { MllpClientError } = require("../index.cjs");
const { convertError } = require("../lib/errors.cjs");
const { withReceiver, clientFor, frame, ackFor, collectFrames, sample, sleep } = require("./helpers.js");

const ADT = sample("adt-a01"); // MSH-10 = MSG00001

/** Settles with { error, elapsed } (or { ack, elapsed }) of one send. */
async function timed(promise) {
  const started = Date.now();
  try {
    const ack = await promise;
    return { ack, elapsed: Date.now() - started };
  } catch (error) {
    return { error, elapsed: Date.now() - started };
  }
}

function assertFailure(result, code, sent) {
  const { error } = result;
  assert.ok(error, `expected ${code}, but the send resolved with ${JSON.stringify(result.ack?.code)}`);
  assert.ok(error instanceof MllpClientError, `expected MllpClientError ${code}, got ${error?.name}: ${error?.message}`);
  assert.equal(error.code, code, `wrong code; message: ${error.message}`);
  assert.equal(error.sent, sent, `wrong sent flag for ${code}: ${error.message}`);
}

/** Resolves when `socket` closes (at once if it already has). */
/** A full garbage collection (Node: gc exposed at run time; Bun: Bun.gc). */
function collectGarbage() {
  if (globalThis.Bun) return globalThis.Bun.gc(true);
  require("node:v8").setFlagsFromString("--expose-gc");
  require("node:vm").runInNewContext("gc")();
}

const closed = (socket) => new Promise((resolve) => (socket.destroyed ? resolve() : socket.once("close", resolve)));

/**
 * A message of `size` bytes whose MSH-10 is `id`: `"MSH|...|id|P|2.5\rOBX|1|ED|||" + "A"...`,
 * as one flat string, like a message read from a file or a socket (a concatenation is a
 * rope that V8 flattens into a second copy on first full read, which the RSS checks below
 * would count against the client).
 */
function bigMessage(id, size) {
  const text = `MSH|^~\\&|SENDER|FAC|RECEIVER|FAC|20260510120000||ORU^R01|${id}|P|2.5\rOBX|1|ED|||` + "A".repeat(size);
  return Buffer.from(text, "latin1").toString("latin1");
}

// ---------------------------------------------------------------------------------------
// Slow and endless replies
// ---------------------------------------------------------------------------------------

test("hostile: slowloris ACK (one byte every 100 ms) ends with TIMEOUT at ackTimeout, not later", async () => {
  let written = 0;
  let connection;
  await withReceiver(async (socket) => {
    connection = socket;
    await collectFrames(socket);
    const ack = frame(ackFor(ADT));
    for (const byte of ack) {
      if (socket.destroyed) return;
      socket.write(Buffer.from([byte]));
      written++;
      await sleep(100);
    }
  }, async (rx) => {
    const result = await timed(clientFor(rx, { ackTimeout: 700 }).send(ADT));
    assertFailure(result, "TIMEOUT", true);
    // Each byte arriving must not restart the clock: the deadline is per ACK frame.
    assert.ok(result.elapsed >= 650, `TIMEOUT after only ${result.elapsed} ms`);
    assert.ok(result.elapsed < 1300, `TIMEOUT after ${result.elapsed} ms, well past ackTimeout 700`);
    assert.ok(written >= 4, `the receiver trickled only ${written} bytes`);
    assert.ok(written < frame(ackFor(ADT)).length, "the whole ACK was written: the test proves nothing");
    // The client dropped the connection: the trickle stops.
    await Promise.race([closed(connection), sleep(2000).then(() => assert.fail("the client kept the slowloris connection open"))]);
  });
});

test("hostile: endless bytes without an end block end with MALFORMED_FRAME once maxFrameBytes (64 KiB) is passed", async () => {
  let written = 0;
  let stopped;
  await withReceiver(async (socket) => {
    stopped = closed(socket);
    await collectFrames(socket);
    const chunk = Buffer.alloc(4096, "A");
    socket.write(Buffer.from([0x0b]));
    // Never an end block; stop only when the client goes away (bounded: 64 MiB at most).
    while (!socket.destroyed && written < 64 * 1024 * 1024) {
      written += chunk.length;
      if (!socket.write(chunk)) {
        await Promise.race([new Promise((resolve) => socket.once("drain", resolve)), closed(socket)]);
      }
    }
  }, async (rx) => {
    const result = await timed(clientFor(rx, { ackTimeout: 10000, maxFrameBytes: 64 * 1024 }).send(ADT));
    assertFailure(result, "MALFORMED_FRAME", true);
    assert.match(result.error.message, /maxFrameBytes/);
    assert.ok(result.elapsed < 2000, `MALFORMED_FRAME only after ${result.elapsed} ms (ackTimeout is 10000)`);
    assert.ok(written > 64 * 1024, `the receiver wrote only ${written} bytes`);
    await Promise.race([stopped, sleep(3000).then(() => assert.fail("the client kept reading the endless frame"))]);
    // The client stopped reading shortly after the limit: far from the 64 MiB the receiver would send.
    assert.ok(written < 16 * 1024 * 1024, `the receiver pushed ${written} bytes before the client closed`);
  });
});

// ---------------------------------------------------------------------------------------
// Broken framing
// ---------------------------------------------------------------------------------------

test("hostile: a frame of 0x0B only, then silence -> TIMEOUT (sent: true)", async () => {
  await withReceiver(async (socket) => {
    await collectFrames(socket);
    socket.write(Buffer.from([0x0b]));
  }, async (rx) => {
    const result = await timed(clientFor(rx, { ackTimeout: 500 }).send(ADT));
    assertFailure(result, "TIMEOUT", true);
    assert.ok(result.elapsed >= 450 && result.elapsed < 1500, `TIMEOUT after ${result.elapsed} ms`);
  });
});

test("hostile: a frame of 0x0B only, then close -> CONNECTION_CLOSED (sent: true), at once", async () => {
  await withReceiver(async (socket) => {
    await collectFrames(socket);
    socket.write(Buffer.from([0x0b]));
    await sleep(100);
    socket.end();
  }, async (rx) => {
    const result = await timed(clientFor(rx, { ackTimeout: 5000 }).send(ADT));
    assertFailure(result, "CONNECTION_CLOSED", true);
    assert.ok(result.elapsed < 2000, `CONNECTION_CLOSED after ${result.elapsed} ms`);
  });
});

test("hostile: an end block without a start block -> MALFORMED_FRAME (sent: true)", async () => {
  const replies = [
    Buffer.concat([Buffer.from(ackFor(ADT)), Buffer.from([0x1c, 0x0d])]), // the 0x0B missing
    Buffer.from([0x1c, 0x0d]), // a bare end block
    Buffer.concat([Buffer.from([0x1c, 0x0d]), frame(ackFor(ADT))]), // a stray end block before a good frame
  ];
  for (const reply of replies) {
    await withReceiver(async (socket) => {
      await collectFrames(socket);
      socket.write(reply);
    }, async (rx) => {
      const result = await timed(clientFor(rx).send(ADT));
      assertFailure(result, "MALFORMED_FRAME", true);
      assert.ok(result.elapsed < 2000, `MALFORMED_FRAME after ${result.elapsed} ms`);
    });
  }
});

test("hostile: NULs interleaved around the frame (separate writes) are skipped -> AA", async () => {
  const ack = ackFor(ADT);
  await withReceiver(async (socket) => {
    await collectFrames(socket);
    for (const part of [Buffer.from([0]), Buffer.from([0, 0, 0x0d, 0]), frame(ack), Buffer.from([0, 0]), Buffer.from([0])]) {
      socket.write(part);
      await sleep(20);
    }
  }, async (rx) => {
    const result = await timed(clientFor(rx).send(ADT));
    assert.ifError(result.error);
    assert.equal(result.ack.code, "AA");
    assert.equal(result.ack.controlId, "MSG00001");
    assert.equal(result.ack.raw, ack, "the NULs are not part of the ACK");
  });
});

test("hostile: an ACK for a different message (a stale ACK replayed) -> MALFORMED_ACK (sent: true)", async () => {
  // The receiver answers every connection with the ACK of the first message it ever got.
  let firstAck;
  await withReceiver(async (socket) => {
    const message = (await collectFrames(socket)).subarray(1, -2).toString("latin1");
    firstAck ??= frame(ackFor(message));
    socket.write(firstAck);
  }, async (rx) => {
    const client = clientFor(rx);
    const first = await client.send(ADT.replace("MSG00001", "STALE1"));
    assert.equal(first.controlId, "STALE1");
    const result = await timed(client.send(ADT.replace("MSG00001", "FRESH2")));
    assertFailure(result, "MALFORMED_ACK", true);
    assert.match(result.error.message, /STALE1/);
    assert.match(result.error.message, /FRESH2/);
  });
});

// ---------------------------------------------------------------------------------------
// Receivers that do not take the message
// ---------------------------------------------------------------------------------------

test("hostile: a receiver that never reads: a 32 MiB send ends at ackTimeout with sent: false, RSS bounded", async () => {
  const message = bigMessage("MSG1", 32 << 20);
  const size = Buffer.byteLength(message);
  let accepted = 0;
  await withReceiver((socket) => {
    accepted++;
    socket.pause(); // accept, never read
  }, async (rx) => {
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 25);
    let result;
    try {
      result = await timed(clientFor(rx, { ackTimeout: 1000 }).send(message));
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    assertFailure(result, "TIMEOUT", false);
    assert.ok(result.elapsed >= 900 && result.elapsed < 2500, `TIMEOUT after ${result.elapsed} ms (ackTimeout 1000)`);
    assert.equal(accepted, 1);
    // The native side holds the message as UTF-8 and as its frame: about twice its size at
    // most. Unbounded buffering (or a copy per write attempt) would show far above that.
    const grew = peak - before;
    assert.ok(grew < 2.5 * size, `RSS grew ${(grew / 2 ** 20).toFixed(1)} MiB during a ${(size / 2 ** 20).toFixed(1)} MiB send`);
    // A large string crosses as a Buffer made in JS (lib/native-client.cjs, toWire): that
    // one is garbage once the send settled and goes with a GC (V8 frees the memory on a
    // background thread, shortly after), so collect and give it up to a second. What is
    // left then is memory still held.
    let after = process.memoryUsage().rss;
    for (let i = 0; i < 20 && after - before >= size / 2; i++) {
      collectGarbage();
      await sleep(50);
      after = process.memoryUsage().rss;
    }
    assert.ok(after - before < size / 2, `RSS still ${((after - before) / 2 ** 20).toFixed(1)} MiB above the start after the send settled`);
  });
});

test("hostile: a receiver that reads half of a large message, then resets -> CONNECTION_CLOSED (sent: false)", async () => {
  const message = bigMessage("HALF1", 48 << 20);
  const size = Buffer.byteLength(message);
  let read = 0;
  await withReceiver((socket) => {
    socket.on("data", (chunk) => {
      read += chunk.length;
      if (read >= size / 2) socket.destroy(); // unread data pending: the kernel sends a RST
    });
  }, async (rx) => {
    const result = await timed(clientFor(rx, { ackTimeout: 10000 }).send(message));
    assertFailure(result, "CONNECTION_CLOSED", false);
    assert.ok(result.elapsed < 5000, `CONNECTION_CLOSED after ${result.elapsed} ms (ackTimeout 10000)`);
    assert.ok(read >= size / 2 && read < size, `the receiver read ${read} of ${size} bytes`);
  });
});

// ---------------------------------------------------------------------------------------
// No panic crosses into JS (item 2)
// ---------------------------------------------------------------------------------------

test("hostile: a panic inside a native future rejects its Promise; the process and later sends carry on", async () => {
  const binding = require("../binding.cjs");
  assert.equal(typeof binding.__panicInFutureForTests, "function", "the test-only panic hook is missing from the addon");
  // Several at once, on the runtime's worker threads.
  const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => binding.__panicInFutureForTests()));
  for (const outcome of outcomes) {
    assert.equal(outcome.status, "rejected", "a panicking future resolved");
    const error = convertError(outcome.reason);
    assert.ok(error instanceof MllpClientError, `not converted: ${outcome.reason?.message}`);
    assert.equal(error.code, "CONNECTION_CLOSED");
    assert.equal(error.sent, false);
    assert.match(error.message, /internal error/);
    assert.match(error.message, /deliberate panic for tests/);
  }
  // The runtime survived: sends (and another panic) still work.
  await withReceiver(async (socket) => {
    const message = (await collectFrames(socket)).subarray(1, -2).toString("latin1");
    socket.write(frame(ackFor(message)));
  }, async (rx) => {
    const client = clientFor(rx);
    const acks = await Promise.all(Array.from({ length: 20 }, (_, i) => client.send(ADT.replace("MSG00001", `AFTER${i}`))));
    assert.deepEqual(acks.map((a) => a.controlId), Array.from({ length: 20 }, (_, i) => `AFTER${i}`));
    await assert.rejects(binding.__panicInFutureForTests(), (e) => convertError(e).code === "CONNECTION_CLOSED");
    assert.equal((await client.send(ADT)).code, "AA");
  });
});

const EVENT_LOOP_PATH = process.versions.bun ? "Bun has no libuv loop for the hook to use"
  : process.platform !== "linux" ? "the event-loop path is Linux-only" : false;

test("hostile: a panic in a callback on Node's event loop is caught there; the process and sends carry on", { skip: EVENT_LOOP_PATH }, async () => {
  const binding = require("../binding.cjs");
  assert.equal(binding.__panicOnEventLoopForTests(), true, "no libuv loop found on Node");
  await sleep(50); // the timer fired and its callback panicked (a panic unwinding into libuv would abort)
  await withReceiver(async (socket) => {
    const message = (await collectFrames(socket)).subarray(1, -2).toString("latin1");
    socket.write(frame(ackFor(message)));
  }, async (rx) => {
    assert.equal((await clientFor(rx).send(ADT)).code, "AA");
  });
});
