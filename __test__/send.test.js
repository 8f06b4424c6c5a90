"use strict";
// send() against real loopback sockets. Every receiver here is a plain `node:net` server
// written in the test (not the library's test receiver), so the bytes on the wire and the
// receiver's behaviour are exactly what each test says.

const test = require("node:test");
const assert = require("node:assert/strict");
const { getEventListeners } = require("node:events");

const lib = require("../index.cjs");
const testing = require("../lib/testing.cjs");
const ackPackage = require("@glion/ack");
const { startRawReceiver, withReceiver, clientFor, frame, ackFor, collectFrames, sample, sleep, transportError } = require("./helpers.js");

const {
  MllpClient,
  MllpClientError,
  AckException,
  AckApplicationError,
  AckApplicationReject,
  AckCommitError,
  AckCommitReject,
  UnsupportedMessageTypeReject,
  ApplicationInternalError,
  CommitInternalError,
} = lib;

const ADT = sample("adt-a01"); // MSH-10 = MSG00001, segments ended by \r, final \r included

/** onConnection: read the whole frame, remember it in `seen`, write `reply` (Buffer or string). */
function replyWith(reply, seen = []) {
  return async (socket) => {
    seen.push(await collectFrames(socket));
    socket.write(typeof reply === "string" ? frame(reply) : reply);
  };
}

/** Resolves with what `promise` settles to, or rejects after `ms` (so a hang fails fast). */
function within(promise, ms, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------
// Happy path and the bytes on the wire
// ---------------------------------------------------------------------------------------

test("send: the wire carries exactly 0x0B + message + 0x1C 0x0D, and the Ack fields are parsed", async () => {
  const seen = [];
  const ackText = ackFor(ADT, "AA", "|Accepted \\T\\ filed");
  await withReceiver(replyWith(ackText, seen), async (rx) => {
    const ack = await clientFor(rx).send(ADT);
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0], Buffer.concat([Buffer.from([0x0b]), Buffer.from(ADT, "latin1"), Buffer.from([0x1c, 0x0d])]));
    assert.deepEqual(seen[0], frame(ADT));
    assert.equal(ack.code, "AA");
    assert.equal(ack.controlId, "MSG00001");
    assert.equal(ack.message, "Accepted & filed"); // MSA-3, unescaped
    assert.equal(ack.errorCode, undefined);
    assert.equal(ack.severity, undefined);
    assert.deepEqual(ack.errors, []);
    assert.equal(ack.raw, ackText);
    assert.equal(rx.connections.length, 1, "one send() is one connection");
  });
});

test("send: an AA without MSA-3 has message undefined; ERR segments on an AA fill errors", async () => {
  const plain = ackFor(ADT, "AA");
  await withReceiver(replyWith(plain), async (rx) => {
    const ack = await clientFor(rx).send(ADT);
    assert.equal(ack.message, undefined);
    assert.equal(ack.raw, plain);
  });
  const warned = ackFor(ADT, "AA", "|Accepted with warnings\rERR||PID^1^8|101^Required field missing^HL70357|W\rERR||PID^1^7|102^Data type error^HL70357|I");
  await withReceiver(replyWith(warned), async (rx) => {
    const ack = await clientFor(rx).send(ADT);
    assert.equal(ack.code, "AA");
    assert.equal(ack.errorCode, "101");
    assert.equal(ack.severity, "W");
    assert.deepEqual(ack.errors, [
      { errorCode: "101", errorText: "Required field missing", severity: "W", location: "PID^1^8" },
      { errorCode: "102", errorText: "Data type error", severity: "I", location: "PID^1^7" },
    ]);
  });
});

test("send: each send() opens its own connection and the client closes it after the ACK", async () => {
  const closes = [];
  await withReceiver(async (socket) => {
    const closed = new Promise((resolve) => socket.once("close", resolve));
    closes.push(closed);
    await collectFrames(socket);
    socket.write(frame(ackFor(ADT)));
  }, async (rx) => {
    const client = clientFor(rx);
    await client.send(ADT);
    await client.send(ADT);
    assert.equal(rx.connections.length, 2);
    // The receiver never closes; the socket closes because the client hung up.
    await within(Promise.all(closes), 2000, "the client closing both connections");
  });
});

test("send: \\n and \\r\\n segment ends (the last one included) go out as \\r", async () => {
  const cases = [
    ["MSH|^~\\&|S|F|R|F|20260510||ADT^A01|LF1|P|2.5\nEVN|A01\nPID|1\n", "MSH|^~\\&|S|F|R|F|20260510||ADT^A01|LF1|P|2.5\rEVN|A01\rPID|1\r"],
    ["MSH|^~\\&|S|F|R|F|20260510||ADT^A01|CRLF1|P|2.5\r\nEVN|A01\r\nPID|1\r\n", "MSH|^~\\&|S|F|R|F|20260510||ADT^A01|CRLF1|P|2.5\rEVN|A01\rPID|1\r"],
    ["MSH|^~\\&|S|F|R|F|20260510||ADT^A01|MIX1|P|2.5\r\nEVN|A01\nPID|1\rPV1|1", "MSH|^~\\&|S|F|R|F|20260510||ADT^A01|MIX1|P|2.5\rEVN|A01\rPID|1\rPV1|1"],
    // no trailing CR is added to a message without one
    ["MSH|^~\\&|S|F|R|F|20260510||ADT^A01|NOCR1|P|2.5\rPID|1", "MSH|^~\\&|S|F|R|F|20260510||ADT^A01|NOCR1|P|2.5\rPID|1"],
  ];
  for (const [input, wire] of cases) {
    const seen = [];
    await withReceiver(replyWith(ackFor(input), seen), async (rx) => {
      const ack = await clientFor(rx).send(input);
      assert.deepEqual(seen[0], frame(wire), `wire bytes for ${JSON.stringify(input)}`);
      assert.equal(ack.controlId, wire.split("|")[9]);
    });
  }
});

test("send: a Uint8Array / Buffer with bytes >= 0x80 is sent byte-exact", async () => {
  const bytes = Buffer.concat([
    Buffer.from("MSH|^~\\&|S|F|R|F|20260510||ADT^A01|BIN1|P|2.5\rPID|1||||M", "latin1"),
    Buffer.from([0xfc, 0x6c, 0x6c, 0x65, 0x72, 0x5e, 0xe9, 0x80, 0xff, 0xc3]), // not valid UTF-8 on purpose
    Buffer.from("\r", "latin1"),
  ]);
  const ackText = ackFor(bytes);
  // A plain Uint8Array that is a view into a larger buffer (non-zero byteOffset), and a Buffer.
  const backing = new Uint8Array(bytes.length + 16).fill(0x41);
  backing.set(bytes, 7);
  const view = backing.subarray(7, 7 + bytes.length);
  assert.equal(Buffer.isBuffer(view), false);
  for (const input of [view, Buffer.from(bytes)]) {
    const seen = [];
    await withReceiver(replyWith(ackText, seen), async (rx) => {
      const ack = await clientFor(rx).send(input);
      assert.deepEqual(seen[0], frame(bytes));
      assert.equal(ack.controlId, "BIN1");
    });
  }
});

test("send: a large (~1 MiB) message arrives byte-exact", async () => {
  const big = sample("mdm-t02");
  const seen = [];
  await withReceiver(replyWith(ackFor(big), seen), async (rx) => {
    const ack = await clientFor(rx, { ackTimeout: 15000 }).send(big);
    assert.equal(seen[0].length, Buffer.byteLength(big) + 3);
    assert.ok(seen[0].equals(frame(big)), "the 1 MiB frame differs from the message");
    assert.equal(ack.controlId, "MSG00005");
  });
});

test("send: encoding latin1 sends é as 0xE9 and decodes a latin1 ACK", async () => {
  const message = "MSH|^~\\&|S|F|R|F|20260510||ADT^A01|LAT1|P|2.5\rPID|1||||René^Müller\r";
  const ackText = ackFor(message, "AA", "|Reçu: é à ü");
  const seen = [];
  await withReceiver(replyWith(frame(Buffer.from(ackText, "latin1")), seen), async (rx) => {
    const ack = await clientFor(rx, { encoding: "latin1" }).send(message);
    const wire = frame(Buffer.from(message, "latin1"));
    assert.deepEqual(seen[0], wire);
    assert.ok(seen[0].includes(Buffer.from([0x52, 0x65, 0x6e, 0xe9])), "René as 52 65 6E E9");
    assert.equal(seen[0].includes(Buffer.from([0xc3, 0xa9])), false, "no UTF-8 é");
    assert.equal(ack.message, "Reçu: é à ü");
    assert.equal(ack.raw, ackText);
  });
});

test("send: utf8 is the default: é goes out as C3 A9 and a UTF-8 ACK is decoded", async () => {
  const message = "MSH|^~\\&|S|F|R|F|20260510||ADT^A01|UTF1|P|2.5\rPID|1||||René\r";
  const ackText = ackFor(message, "AA", "|Reçu 日本");
  const seen = [];
  await withReceiver(replyWith(frame(Buffer.from(ackText, "utf8")), seen), async (rx) => {
    const ack = await clientFor(rx).send(message);
    assert.deepEqual(seen[0], frame(Buffer.from(message, "utf8")));
    assert.ok(seen[0].includes(Buffer.from([0x52, 0x65, 0x6e, 0xc3, 0xa9])), "René as 52 65 6E C3 A9");
    assert.equal(ack.message, "Reçu 日本");
    assert.equal(ack.raw, ackText);
  });
});

test("send: with encoding latin1 a non-ASCII MSH-10 matches the same MSA-2 in a latin1 ACK", async () => {
  // MSH-10 "MSGé1" goes out as 4D 53 47 E9 31 and the receiver echoes those bytes in MSA-2.
  const message = "MSH|^~\\&|S|F|R|F|20260510||ADT^A01|MSGé1|P|2.5\rPID|1\r";
  const ackText = "MSH|^~\\&|R|F|S|F|20260510||ACK|A1|P|2.5\rMSA|AA|MSGé1";
  for (const input of [message, Buffer.from(message, "latin1")]) {
    const seen = [];
    await withReceiver(replyWith(frame(Buffer.from(ackText, "latin1")), seen), async (rx) => {
      const ack = await clientFor(rx, { encoding: "latin1" }).send(input);
      assert.deepEqual(seen[0], frame(Buffer.from(message, "latin1")));
      assert.equal(ack.controlId, "MSGé1");
    });
  }
});

test("send: concurrent sends on one client use separate connections and each gets its own ACK", async () => {
  const messages = Array.from({ length: 12 }, (_, i) => `MSH|^~\\&|S|F|R|F|20260510||ADT^A01|CONC${i}|P|2.5\rPID|${i}\r`);
  await withReceiver(async (socket) => {
    const bytes = await collectFrames(socket);
    const text = bytes.subarray(1, -2).toString("latin1");
    await sleep(Math.floor(Math.random() * 30)); // answer out of order
    if (!socket.destroyed) socket.write(frame(ackFor(text)));
  }, async (rx) => {
    const client = clientFor(rx);
    const acks = await Promise.all(messages.map((m) => client.send(m)));
    assert.deepEqual(acks.map((a) => a.controlId), messages.map((_, i) => `CONC${i}`));
    assert.equal(rx.connections.length, messages.length);
  });
});

test("send: a receiver that writes the ACK and closes at once (end()) is fine", async () => {
  const ackText = ackFor(ADT);
  await withReceiver(async (socket) => {
    await collectFrames(socket);
    socket.end(frame(ackText));
  }, async (rx) => {
    const ack = await clientFor(rx).send(ADT);
    assert.equal(ack.raw, ackText);
  });
});

// ---------------------------------------------------------------------------------------
// Reading the ACK frame: fragmentation, padding, tolerated shapes
// ---------------------------------------------------------------------------------------

test("send: an ACK written one byte at a time (separate writes, small delays) is reassembled", async () => {
  const ackText = ackFor(ADT, "AA", "|byte by byte");
  await withReceiver(async (socket) => {
    socket.setNoDelay(true);
    await collectFrames(socket);
    for (const byte of frame(ackText)) {
      if (socket.destroyed) return;
      socket.write(Buffer.from([byte]));
      await sleep(2);
    }
  }, async (rx) => {
    const ack = await clientFor(rx).send(ADT);
    assert.equal(ack.raw, ackText);
    assert.equal(ack.message, "byte by byte");
  });
});

test("send: an ACK split exactly between 0x1C and 0x0D is accepted", async () => {
  const ackText = ackFor(ADT);
  const bytes = frame(ackText);
  await withReceiver(async (socket) => {
    socket.setNoDelay(true);
    await collectFrames(socket);
    socket.write(bytes.subarray(0, bytes.length - 1)); // ... 0x1C
    await sleep(150);
    if (!socket.destroyed) socket.write(bytes.subarray(bytes.length - 1)); // 0x0D
  }, async (rx) => {
    const ack = await clientFor(rx).send(ADT);
    assert.equal(ack.code, "AA");
    assert.equal(ack.raw, ackText);
  });
});

test("send: NUL, CR, LF, space and tab padding before the frame is skipped", async () => {
  const ackText = ackFor(ADT);
  await withReceiver(async (socket) => {
    await collectFrames(socket);
    socket.write(Buffer.from([0x00, 0x0d, 0x0a, 0x20, 0x09, 0x00, 0x0d, 0x0a]));
    await sleep(20);
    socket.write(Buffer.concat([Buffer.from([0x00, 0x0a]), frame(ackText)]));
  }, async (rx) => {
    const ack = await clientFor(rx).send(ADT);
    assert.equal(ack.code, "AA");
    assert.equal(ack.raw, ackText);
  });
});

test("send: the receiver closing right after 0x1C (0x0D missing) still yields the ACK", async () => {
  const ackText = ackFor(ADT);
  await withReceiver(async (socket) => {
    await collectFrames(socket);
    const bytes = frame(ackText);
    socket.end(bytes.subarray(0, bytes.length - 1));
  }, async (rx) => {
    const ack = await clientFor(rx).send(ADT);
    assert.equal(ack.raw, ackText);
  });
});

test("send: an ACK with \\r\\n or \\n between segments is parsed; raw is kept as received", async () => {
  for (const sep of ["\r\n", "\n"]) {
    const ackText = ackFor(ADT, "AA", `|ok${sep}ERR|||0^Message accepted^HL70357|I${sep}`);
    await withReceiver(replyWith(ackText), async (rx) => {
      const ack = await clientFor(rx).send(ADT);
      assert.equal(ack.code, "AA");
      assert.equal(ack.controlId, "MSG00001");
      assert.equal(ack.message, "ok");
      assert.equal(ack.errorCode, "0");
      assert.equal(ack.raw, ackText);
    });
  }
});

test("send: the ACK is parsed with its own delimiters (MSH-1, MSH-2)", async () => {
  const ackText = "MSH#@~$%#RECEIVER#FACILITY#SENDER#FACILITY#20260510120001##ACK@A01@ACK#ACK1#P#2.5\rMSA#AA#MSG00001#a $F$ b\rERR###101@Required field missing@HL70357#W";
  await withReceiver(replyWith(ackText), async (rx) => {
    const ack = await clientFor(rx).send(ADT);
    assert.equal(ack.code, "AA");
    assert.equal(ack.controlId, "MSG00001");
    assert.equal(ack.message, "a # b");
    assert.equal(ack.errorCode, "101");
    assert.equal(ack.errors[0].errorText, "Required field missing");
    assert.equal(ack.severity, "W");
  });
});

// ---------------------------------------------------------------------------------------
// Timeouts
// ---------------------------------------------------------------------------------------

/** onConnection: read the message and never answer. */
const silent = (seen = []) => async (socket) => {
  seen.push(await collectFrames(socket).catch(() => null));
};

test("send: no reply -> TIMEOUT with sent: true, settling shortly after ackTimeout", async () => {
  const seen = [];
  await withReceiver(silent(seen), async (rx) => {
    const client = clientFor(rx, { ackTimeout: 300 });
    const started = Date.now();
    await assert.rejects(client.send(ADT), transportError("TIMEOUT", true));
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 250, `settled after ${elapsed} ms, before ackTimeout`);
    assert.ok(elapsed < 1500, `settled after ${elapsed} ms`);
    assert.deepEqual(seen[0], frame(ADT), "the message was on the wire");
  });
});

test("send: ackTimeout bounds the whole ACK frame, not the gap between bytes", async () => {
  await withReceiver(async (socket) => {
    socket.setNoDelay(true);
    await collectFrames(socket);
    for (const byte of frame(ackFor(ADT))) {
      if (socket.destroyed) return;
      socket.write(Buffer.from([byte]));
      await sleep(50); // about 5 s for the whole frame, one byte every 50 ms
    }
  }, async (rx) => {
    const started = Date.now();
    await assert.rejects(clientFor(rx, { ackTimeout: 400 }).send(ADT), transportError("TIMEOUT", true));
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 350 && elapsed < 2000, `settled after ${elapsed} ms`);
  });
});

test("send: after a TIMEOUT the client closes the connection", async () => {
  let serverClosed;
  await withReceiver(async (socket) => {
    serverClosed = new Promise((resolve) => socket.once("close", () => resolve(Date.now())));
    await collectFrames(socket).catch(() => {});
  }, async (rx) => {
    await assert.rejects(clientFor(rx, { ackTimeout: 300 }).send(ADT), transportError("TIMEOUT", true));
    const rejectedAt = Date.now();
    const closedAt = await within(serverClosed, 2000, "the receiver seeing its socket close");
    assert.ok(closedAt - rejectedAt < 1000);
  });
});

test("send: a per-call ackTimeout overrides the client's (shorter and longer)", async () => {
  await withReceiver(silent(), async (rx) => {
    const client = clientFor(rx, { ackTimeout: 20000 });
    const started = Date.now();
    await assert.rejects(client.send(ADT, { ackTimeout: 300 }), transportError("TIMEOUT", true));
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 250 && elapsed < 1500, `per-call 300 ms timeout settled after ${elapsed} ms`);
  });
  // The receiver answers after 700 ms: a client ackTimeout of 300 ms alone would fail.
  await withReceiver(async (socket) => {
    await collectFrames(socket);
    await sleep(700);
    if (!socket.destroyed) socket.write(frame(ackFor(ADT)));
  }, async (rx) => {
    const client = clientFor(rx, { ackTimeout: 300 });
    const ack = await client.send(ADT, { ackTimeout: 4000 });
    assert.equal(ack.code, "AA");
  });
});

test("send: a receiver that never reads -> TIMEOUT with sent: false (the write is bounded by ackTimeout)", async () => {
  // 16 MiB cannot fit in the loopback socket buffers of a peer that does not read.
  const huge = "MSH|^~\\&|S|F|R|F|20260510||ORU^R01|BIG1|P|2.5\rOBX|1|ED|PDF||" + "A".repeat(16 * 1024 * 1024) + "\r";
  await withReceiver((socket) => socket.pause(), async (rx) => {
    const started = Date.now();
    await assert.rejects(clientFor(rx, { ackTimeout: 500 }).send(huge), transportError("TIMEOUT", false));
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 400 && elapsed < 3000, `settled after ${elapsed} ms`);
  });
});

test("send: aborting while the message is still being written rejects with the reason", async () => {
  const huge = "MSH|^~\\&|S|F|R|F|20260510||ORU^R01|BIG2|P|2.5\rOBX|1|ED|PDF||" + "A".repeat(16 * 1024 * 1024) + "\r";
  let serverClosed;
  await withReceiver((socket) => {
    socket.pause();
    serverClosed = new Promise((resolve) => socket.once("close", resolve));
  }, async (rx) => {
    const controller = new AbortController();
    const reason = new Error("stop writing");
    const pending = clientFor(rx, { ackTimeout: 20000 }).send(huge, { signal: controller.signal });
    await sleep(300);
    assert.equal(rx.connections.length, 1);
    const abortedAt = Date.now();
    controller.abort(reason);
    await assert.rejects(pending, (error) => {
      assert.strictEqual(error, reason);
      return true;
    });
    assert.ok(Date.now() - abortedAt < 500, "abort took too long");
    rx.connections[0].resume(); // read what is buffered so the client's close (FIN/RST) is seen
    await within(serverClosed, 2000, "the receiver seeing its socket close");
  });
});

test("send: connectTimeout is validated (the connect timeout itself is not exercised here)", () => {
  // A real connect timeout needs a peer that never answers the SYN (a non-routable address)
  // or a listener with a full backlog; the first is forbidden by this environment's network
  // policy and the second is unreliable on Linux loopback, so only validation is tested.
  for (const connectTimeout of [0, -1, Number.NaN, Infinity, "1000", null, 2 ** 31]) {
    assert.throws(() => new MllpClient({ host: "127.0.0.1", port: 2575, tls: false, connectTimeout }), transportError("INVALID_INPUT", false), `connectTimeout ${String(connectTimeout)}`);
  }
  for (const connectTimeout of [1, 250, 2 ** 31 - 1]) {
    assert.doesNotThrow(() => new MllpClient({ host: "127.0.0.1", port: 2575, tls: false, connectTimeout }));
  }
});

// ---------------------------------------------------------------------------------------
// The connection ends early
// ---------------------------------------------------------------------------------------

test("send: the receiver closes before replying -> CONNECTION_CLOSED, sent: true", async () => {
  await withReceiver(async (socket) => {
    await collectFrames(socket);
    socket.end();
  }, async (rx) => {
    await assert.rejects(clientFor(rx).send(ADT), transportError("CONNECTION_CLOSED", true));
  });
});

test("send: the receiver resets mid-ACK -> CONNECTION_CLOSED, sent: true", async () => {
  await withReceiver(async (socket) => {
    await collectFrames(socket);
    const bytes = frame(ackFor(ADT));
    socket.write(bytes.subarray(0, bytes.length >> 1), () => {
      setTimeout(() => socket.resetAndDestroy(), 50);
    });
  }, async (rx) => {
    await assert.rejects(clientFor(rx).send(ADT), transportError("CONNECTION_CLOSED", true));
  });
});

test("send: the receiver closes cleanly mid-ACK (truncated frame) -> CONNECTION_CLOSED, sent: true", async () => {
  await withReceiver(async (socket) => {
    await collectFrames(socket);
    const bytes = frame(ackFor(ADT));
    socket.end(bytes.subarray(0, bytes.length >> 1));
  }, async (rx) => {
    await assert.rejects(clientFor(rx).send(ADT), transportError("CONNECTION_CLOSED", true));
  });
});

test("send: the receiver resets right after accepting -> CONNECTION_CLOSED", async () => {
  // `sent` is not asserted: whether the kernel took the bytes before the RST arrived is a race.
  await withReceiver((socket) => socket.resetAndDestroy(), async (rx) => {
    await assert.rejects(clientFor(rx).send(ADT), transportError("CONNECTION_CLOSED"));
  });
});

// ---------------------------------------------------------------------------------------
// Bad frames and bad ACKs
// ---------------------------------------------------------------------------------------

test("send: an ACK frame over maxFrameBytes -> MALFORMED_FRAME (limit counts bytes between 0x0B and 0x1C)", async () => {
  const sized = (n) => {
    const base = "MSH|^~\\&|R|F|S|F|20260510||ACK|A1|P|2.5\rMSA|AA|MSG00001|";
    return base + "x".repeat(n - base.length);
  };
  assert.equal(sized(200).length, 200);
  await withReceiver(replyWith(sized(200)), async (rx) => {
    await assert.rejects(clientFor(rx, { maxFrameBytes: 100 }).send(ADT), transportError("MALFORMED_FRAME", true));
  });
  await withReceiver(replyWith(sized(101)), async (rx) => {
    await assert.rejects(clientFor(rx, { maxFrameBytes: 100 }).send(ADT), transportError("MALFORMED_FRAME", true));
  });
  await withReceiver(replyWith(sized(100)), async (rx) => {
    const ack = await clientFor(rx, { maxFrameBytes: 100 }).send(ADT);
    assert.equal(ack.raw.length, 100);
  });
});

test("send: an oversize frame fails as soon as the limit is passed, without waiting for its end", async () => {
  await withReceiver(async (socket) => {
    await collectFrames(socket);
    socket.write(Buffer.concat([Buffer.from([0x0b]), Buffer.from("MSH|" + "x".repeat(300))])); // never finished
  }, async (rx) => {
    const started = Date.now();
    await assert.rejects(clientFor(rx, { maxFrameBytes: 100, ackTimeout: 10000 }).send(ADT), transportError("MALFORMED_FRAME", true));
    assert.ok(Date.now() - started < 3000, "waited for the frame to end (or for the timeout)");
  });
});

test("send: the default maxFrameBytes is 1 MiB (1,048,576 content bytes accepted, one more refused)", async () => {
  const sized = (n) => {
    const base = "MSH|^~\\&|R|F|S|F|20260510||ACK|A1|P|2.5\rMSA|AA|MSG00001|";
    return base + "y".repeat(n - base.length);
  };
  await withReceiver(replyWith(sized(1024 * 1024)), async (rx) => {
    const ack = await clientFor(rx).send(ADT);
    assert.equal(ack.raw.length, 1024 * 1024);
  });
  await withReceiver(replyWith(sized(1024 * 1024 + 1)), async (rx) => {
    await assert.rejects(clientFor(rx).send(ADT), transportError("MALFORMED_FRAME", true));
  });
});

test("send: non-MLLP bytes (an HTTP reply) -> MALFORMED_FRAME", async () => {
  await withReceiver(async (socket) => {
    await collectFrames(socket);
    socket.write("HTTP/1.1 400 Bad Request\r\n\r\n");
  }, async (rx) => {
    await assert.rejects(clientFor(rx).send(ADT), transportError("MALFORMED_FRAME", true));
  });
});

test("send: a second 0x0B inside a frame -> MALFORMED_FRAME", async () => {
  await withReceiver(async (socket) => {
    await collectFrames(socket);
    socket.write(Buffer.concat([Buffer.from([0x0b]), Buffer.from("MSH|^~\\&|R"), frame(ackFor(ADT))]));
  }, async (rx) => {
    await assert.rejects(clientFor(rx).send(ADT), transportError("MALFORMED_FRAME", true));
  });
});

test("send: a frame that is not HL7 -> MALFORMED_ACK", async () => {
  await withReceiver(replyWith("hello"), async (rx) => {
    await assert.rejects(clientFor(rx).send(ADT), transportError("MALFORMED_ACK", true));
  });
});

test("send: an HL7 reply without MSA -> MALFORMED_ACK", async () => {
  await withReceiver(replyWith("MSH|^~\\&|R|F|S|F|20260510||ACK^A01^ACK|X1|P|2.5\rERR|||207|E"), async (rx) => {
    await assert.rejects(clientFor(rx).send(ADT), transportError("MALFORMED_ACK", true));
  });
});

test("send: an unknown MSA-1 -> MALFORMED_ACK", async () => {
  for (const code of ["ZZ", "", "OK"]) {
    await withReceiver(replyWith(ackFor(ADT, code)), async (rx) => {
      await assert.rejects(clientFor(rx).send(ADT), transportError("MALFORMED_ACK", true), `MSA-1 ${JSON.stringify(code)}`);
    });
  }
});

test("send: an ACK for another control id -> MALFORMED_ACK with sent: true", async () => {
  const wrong = ackFor(ADT).replace("MSA|AA|MSG00001", "MSA|AA|MSG99999");
  await withReceiver(replyWith(wrong), async (rx) => {
    await assert.rejects(clientFor(rx).send(ADT), transportError("MALFORMED_ACK", true));
  });
  // A positive ACK with an empty MSA-2 does not match either.
  const empty = ackFor(ADT).replace("MSA|AA|MSG00001", "MSA|AA|");
  await withReceiver(replyWith(empty), async (rx) => {
    await assert.rejects(clientFor(rx).send(ADT), transportError("MALFORMED_ACK", true));
  });
});

test("send: a NAK for another control id is MALFORMED_ACK too; MSA-2 is compared trimmed", async () => {
  const wrongNak = ackFor(ADT, "AE", "|Patient not found").replace("MSA|AE|MSG00001", "MSA|AE|MSG99999");
  await withReceiver(replyWith(wrongNak), async (rx) => {
    await assert.rejects(clientFor(rx).send(ADT), transportError("MALFORMED_ACK", true));
  });
  const padded = ackFor(ADT).replace("MSA|AA|MSG00001", "MSA| AA | MSG00001 ");
  await withReceiver(replyWith(padded), async (rx) => {
    const ack = await clientFor(rx).send(ADT);
    assert.equal(ack.code, "AA");
    assert.equal(ack.controlId, "MSG00001");
  });
});

test("send: verifyControlId: false accepts an ACK for another control id", async () => {
  const wrong = ackFor(ADT).replace("MSA|AA|MSG00001", "MSA|AA|MSG99999");
  await withReceiver(replyWith(wrong), async (rx) => {
    const ack = await clientFor(rx, { verifyControlId: false }).send(ADT);
    assert.equal(ack.code, "AA");
    assert.equal(ack.controlId, "MSG99999");
  });
});

test("send: a NAK with an empty MSA-2 is still thrown as the NAK (documented choice)", async () => {
  const nak = "MSH|^~\\&|R|F|S|F|20260510||ACK|X1|P|2.5\rMSA|AR||Message could not be parsed";
  await withReceiver(replyWith(nak), async (rx) => {
    await assert.rejects(clientFor(rx).send(ADT), (error) => {
      assert.ok(error instanceof AckApplicationReject, `got ${error?.name}: ${error?.message}`);
      assert.equal(error.code, "AR");
      assert.equal(error.controlId, "");
      assert.equal(error.message, "Message could not be parsed");
      return true;
    });
  });
});

// ---------------------------------------------------------------------------------------
// Nothing to connect to
// ---------------------------------------------------------------------------------------

test("send: nothing listening -> CONNECTION_REFUSED, sent: false", async () => {
  const rx = await startRawReceiver();
  const port = rx.port;
  await rx.close();
  const client = new MllpClient({ host: "127.0.0.1", port, tls: false, connectTimeout: 5000 });
  const started = Date.now();
  await assert.rejects(client.send(ADT), transportError("CONNECTION_REFUSED", false));
  assert.ok(Date.now() - started < 3000, "a refused connection is reported at once, not after a timeout");
});

test("send: an unknown host name -> CONNECTION_REFUSED, sent: false", async () => {
  const client = new MllpClient({ host: "no-such-host.invalid", port: 2575, tls: false, connectTimeout: 8000 });
  await assert.rejects(client.send(ADT), transportError("CONNECTION_REFUSED", false));
});

test("send: TLS is on by default: a plain MLLP receiver sees a TLS ClientHello, never the message, and the call fails with TLS_ERROR", async () => {
  const firstChunks = [];
  await withReceiver((socket) => {
    socket.once("data", (chunk) => {
      firstChunks.push(chunk);
      socket.write(frame(ackFor(ADT))); // what a plain-TCP receiver would answer
    });
  }, async (rx) => {
    const client = new MllpClient({ host: "127.0.0.1", port: rx.port, connectTimeout: 5000, ackTimeout: 5000 });
    await assert.rejects(client.send(ADT), transportError("TLS_ERROR", false));
    assert.equal(firstChunks.length, 1);
    assert.equal(firstChunks[0][0], 0x16, "the first byte is not a TLS handshake record");
    assert.equal(firstChunks[0].includes(Buffer.from("MSG00001")), false, "the message went out in clear");
  });
});

// ---------------------------------------------------------------------------------------
// NAKs
// ---------------------------------------------------------------------------------------

const NAK_CASES = [
  { code: "AE", extra: "|Patient not found\rERR|||204^Unknown key identifier^HL70357|E", Class: AckApplicationError, Base: AckApplicationError, text: "Patient not found", errorCode: "204", severity: "E" },
  { code: "AR", extra: "|Wrong processing id\rERR|||202^Unsupported processing id^HL70357|E", Class: AckApplicationReject, Base: AckApplicationReject, text: "Wrong processing id", errorCode: "202", severity: "E" },
  { code: "CE", extra: "|Queue full\rERR|||206^Application record locked^HL70357|W", Class: AckCommitError, Base: AckCommitError, text: "Queue full", errorCode: "206", severity: "W" },
  { code: "CR", extra: "|Not accepted\rERR|||203^Unsupported version id^HL70357|E", Class: AckCommitReject, Base: AckCommitReject, text: "Not accepted", errorCode: "203", severity: "E" },
  { code: "AR", extra: "|No ADT here\rERR|||200^Unsupported message type^HL70357|E", Class: UnsupportedMessageTypeReject, Base: AckApplicationReject, text: "No ADT here", errorCode: "200", severity: "E" },
  { code: "AE", extra: "|Database down\rERR|||207^Application internal error^HL70357|F", Class: ApplicationInternalError, Base: AckApplicationError, text: "Database down", errorCode: "207", severity: "F" },
  { code: "CE", extra: "|Disk full\rERR|||207^Application internal error^HL70357|E", Class: CommitInternalError, Base: AckCommitError, text: "Disk full", errorCode: "207", severity: "E" },
];

for (const c of NAK_CASES) {
  test(`send: ${c.code} with ERR-3 ${c.errorCode} rejects with ${c.Class.name}`, async () => {
    const ackText = ackFor(ADT, c.code, c.extra);
    await withReceiver(replyWith(ackText), async (rx) => {
      await assert.rejects(clientFor(rx).send(ADT), (error) => {
        assert.equal(Object.getPrototypeOf(error), c.Class.prototype, `got ${error?.name}: ${error?.message}`);
        assert.ok(error instanceof c.Base);
        assert.ok(error instanceof AckException);
        assert.ok(error instanceof Error);
        assert.equal(error instanceof MllpClientError, false);
        assert.equal(error.name, c.Class.name);
        assert.equal(error.code, c.code);
        assert.equal(error.message, c.text);
        assert.equal(error.errorCode, c.errorCode);
        assert.equal(error.severity, c.severity);
        assert.equal(error.raw, ackText);
        assert.equal(error.controlId, "MSG00001");
        assert.equal(error.ack.code, c.code);
        assert.equal(error.ack.controlId, "MSG00001");
        assert.equal(error.ack.message, c.text);
        assert.equal(error.ack.raw, ackText);
        assert.equal(error.ack.errors.length, 1);
        return true;
      });
    });
  });
}

test("send: a v2.3-style ERR-1 gives errorCode (ERR-1.4.1) too", async () => {
  const ackText = ackFor(ADT, "AE", "|Internal error\rERR|PID^1^3^207&Application internal error&HL70357");
  await withReceiver(replyWith(ackText), async (rx) => {
    await assert.rejects(clientFor(rx).send(ADT), (error) => {
      assert.ok(error instanceof ApplicationInternalError, `got ${error?.name}`);
      assert.equal(error.code, "AE");
      assert.equal(error.errorCode, "207");
      assert.equal(error.severity, undefined);
      assert.deepEqual(error.ack.errors, [{ errorCode: "207", errorText: "Application internal error", severity: undefined, location: "PID^1^3" }]);
      return true;
    });
  });
  const v24 = ackFor(ADT, "AE", "|Bad id\rERR|PID^1^3^204&Unknown key identifier&HL70357");
  await withReceiver(replyWith(v24), async (rx) => {
    await assert.rejects(clientFor(rx).send(ADT), (error) => {
      assert.equal(Object.getPrototypeOf(error), AckApplicationError.prototype);
      assert.equal(error.errorCode, "204");
      return true;
    });
  });
});

test("send: a NAK without MSA-3 still has a non-empty message", async () => {
  await withReceiver(replyWith(ackFor(ADT, "AE")), async (rx) => {
    await assert.rejects(clientFor(rx).send(ADT), (error) => {
      assert.ok(error instanceof AckApplicationError);
      assert.equal(typeof error.message, "string");
      assert.ok(error.message.length > 0);
      assert.equal(error.errorCode, undefined);
      return true;
    });
  });
});

test("send: the error classes are the same objects from index.cjs, index.mjs, lib/testing.cjs and @glion/ack", async () => {
  const esm = await import("../index.mjs");
  const ackEsm = await import("@glion/ack");
  const names = ["AckException", "AckApplicationError", "AckApplicationReject", "AckCommitError", "AckCommitReject", "UnsupportedMessageTypeReject", "ApplicationInternalError", "CommitInternalError"];
  for (const name of names) {
    assert.equal(typeof lib[name], "function", `index.cjs exports ${name}`);
    assert.equal(esm[name], lib[name], `index.mjs ${name}`);
    assert.equal(ackPackage[name], lib[name], `@glion/ack (require) ${name}`);
    assert.equal(ackEsm[name], lib[name], `@glion/ack (import) ${name}`);
    assert.equal(testing[name], lib[name], `lib/testing.cjs ${name}`);
  }
  assert.equal(esm.MllpClientError, MllpClientError);
  assert.equal(testing.MllpClientError, MllpClientError);
  assert.equal(esm.MllpClient, MllpClient);
});

test("send: CA resolves send() (an enhanced-mode receiver sends CA, then AA)", async () => {
  await withReceiver(async (socket) => {
    await collectFrames(socket);
    socket.write(frame(ackFor(ADT, "CA", "|Committed")));
    await sleep(200);
    if (!socket.destroyed) socket.write(frame(ackFor(ADT, "AA")));
  }, async (rx) => {
    const ack = await clientFor(rx).send(ADT);
    assert.equal(ack.code, "CA");
    assert.equal(ack.controlId, "MSG00001");
    assert.equal(ack.message, "Committed");
  });
});

// ---------------------------------------------------------------------------------------
// AbortSignal
// ---------------------------------------------------------------------------------------

test("send: aborting while waiting for the ACK rejects with the signal's reason and closes the socket", async () => {
  let serverClosed;
  let frameIn;
  const gotFrame = new Promise((resolve) => { frameIn = resolve; });
  await withReceiver(async (socket) => {
    serverClosed = new Promise((resolve) => socket.once("close", () => resolve(Date.now())));
    await collectFrames(socket);
    frameIn();
  }, async (rx) => {
    const controller = new AbortController();
    const reason = { why: "user cancelled" };
    const pending = clientFor(rx, { ackTimeout: 20000 }).send(ADT, { signal: controller.signal });
    await within(gotFrame, 5000, "the message arriving");
    await sleep(50);
    const abortedAt = Date.now();
    controller.abort(reason);
    await assert.rejects(pending, (error) => {
      assert.strictEqual(error, reason);
      return true;
    });
    const rejectedAfter = Date.now() - abortedAt;
    assert.ok(rejectedAfter < 500, `rejected ${rejectedAfter} ms after abort`);
    const closedAt = await within(serverClosed, 2000, "the receiver seeing its socket close");
    assert.ok(closedAt - abortedAt < 1000, `socket closed ${closedAt - abortedAt} ms after abort`);
  });
});

test("send: aborting with no explicit reason rejects with an AbortError", async () => {
  await withReceiver(silent(), async (rx) => {
    const controller = new AbortController();
    const pending = clientFor(rx).send(ADT, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(pending, (error) => {
      assert.strictEqual(error, controller.signal.reason);
      assert.equal(error.name, "AbortError");
      return true;
    });
  });
});

test("send: an already-aborted signal rejects without connecting", async () => {
  await withReceiver(replyWith(ackFor(ADT)), async (rx) => {
    const reason = new Error("already gone");
    const pending = clientFor(rx).send(ADT, { signal: AbortSignal.abort(reason) });
    assert.ok(pending instanceof Promise);
    await assert.rejects(pending, (error) => {
      assert.strictEqual(error, reason);
      return true;
    });
    await sleep(200);
    assert.equal(rx.connections.length, 0, "the receiver saw a connection");
  });
});

test("send: a signal that never aborts does not change the result", async () => {
  await withReceiver(replyWith(ackFor(ADT)), async (rx) => {
    const controller = new AbortController();
    const client = clientFor(rx);
    for (let i = 0; i < 3; i++) {
      const ack = await client.send(ADT, { signal: controller.signal });
      assert.equal(ack.code, "AA");
    }
    assert.equal(getEventListeners(controller.signal, "abort").length, 0, "abort listeners left on the signal");
    controller.abort(); // after settling: harmless
  });
});

// ---------------------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------------------

test("send: bad messages and per-call options reject (never throw) with INVALID_INPUT and open no socket", async () => {
  await withReceiver(replyWith(ackFor(ADT)), async (rx) => {
    const client = clientFor(rx);
    const latin1Client = clientFor(rx, { encoding: "latin1" });
    const cases = [
      ["a number", () => client.send(123)],
      ["undefined", () => client.send()],
      ["an object", () => client.send({ text: ADT })],
      ["a segment that is not MSH", () => client.send("PID|1")],
      ["an empty string", () => client.send("")],
      ["empty bytes", () => client.send(new Uint8Array(0))],
      ["MSH without a field separator", () => client.send("MSH")],
      ["a message containing 0x0B", () => client.send(ADT.replace("EVN", "\x0bEVN"))],
      ["a message containing 0x1C", () => client.send(ADT.replace("EVN", "\x1cEVN"))],
      ["bytes containing 0x0B", () => client.send(Buffer.from(ADT.replace("PID", "\x0bPID"), "latin1"))],
      ["ackTimeout -1", () => client.send(ADT, { ackTimeout: -1 })],
      ["ackTimeout 0", () => client.send(ADT, { ackTimeout: 0 })],
      ["ackTimeout as a string", () => client.send(ADT, { ackTimeout: "300" })],
      ["an unknown send option", () => client.send(ADT, { timeout: 300 })],
      ["send options that are not an object", () => client.send(ADT, 5)],
      ["a signal that is not an AbortSignal", () => client.send(ADT, { signal: "stop" })],
      ["a character above U+00FF with latin1", () => latin1Client.send(ADT.replace("DOE", "D\u0151E"))],
    ];
    for (const [what, call] of cases) {
      let pending;
      assert.doesNotThrow(() => { pending = call(); }, `send() with ${what} threw synchronously`);
      assert.ok(pending instanceof Promise, `send() with ${what} did not return a Promise`);
      await assert.rejects(pending, transportError("INVALID_INPUT", false), what);
    }
    await sleep(200);
    assert.equal(rx.connections.length, 0, "a socket was opened for a bad input");
  });
});

test("constructor: bad options throw INVALID_INPUT synchronously; good ones open nothing", async () => {
  const base = { host: "127.0.0.1", port: 2575, tls: false };
  const cases = [
    ["no options", undefined],
    ["no host", { port: 2575, tls: false }],
    ["empty host", { ...base, host: "" }],
    ["port 0", { ...base, port: 0 }],
    ["port 70000", { ...base, port: 70000 }],
    ["port as a string", { ...base, port: "2575" }],
    ["port 1.5", { ...base, port: 1.5 }],
    ['tls: "yes"', { ...base, tls: "yes" }],
    ["tls.ca: 5", { ...base, tls: { ca: 5 } }],
    ["unknown tls option", { ...base, tls: { rejectUnauthorized: false } }],
    ["unknown option", { ...base, retries: 3 }],
    ["connectTimeout 0", { ...base, connectTimeout: 0 }],
    ["ackTimeout -5", { ...base, ackTimeout: -5 }],
    ['encoding "klingon"', { ...base, encoding: "klingon" }],
    ["maxFrameBytes 0", { ...base, maxFrameBytes: 0 }],
    ["maxFrameBytes 1.5", { ...base, maxFrameBytes: 1.5 }],
    ['verifyControlId "yes"', { ...base, verifyControlId: "yes" }],
  ];
  for (const [what, options] of cases) {
    assert.throws(() => new MllpClient(options), transportError("INVALID_INPUT", false), what);
  }
  await withReceiver(replyWith(ackFor(ADT)), async (rx) => {
    new MllpClient({ host: "127.0.0.1", port: rx.port }); // tls: true by default, still nothing opened
    new MllpClient({ host: "127.0.0.1", port: rx.port, tls: false, connectTimeout: 1000, ackTimeout: 1000, encoding: "latin1", maxFrameBytes: 10, verifyControlId: false });
    await sleep(200);
    assert.equal(rx.connections.length, 0, "the constructor opened a connection");
  });
});

// ---------------------------------------------------------------------------------------
// Batches
// ---------------------------------------------------------------------------------------

test("send: a batch (FHS/BHS) is sent as is and an ACK with any MSA-2 is accepted", async () => {
  const batch = [
    "FHS|^~\\&|SENDER|FACILITY|RECEIVER|FACILITY|20260510120000||||FILE0001",
    "BHS|^~\\&|SENDER|FACILITY|RECEIVER|FACILITY|20260510120000||||BATCH0001",
    "MSH|^~\\&|SENDER|FACILITY|RECEIVER|FACILITY|20260510120000||ADT^A01^ADT_A01|MSG00001|P|2.5",
    "PID|1||PATID1234^^^FACILITY^MR||DOE^JOHN^M||19800101|M",
    "BTS|1",
    "FTS|1",
    "",
  ].join("\r");
  const ackText = "MSH|^~\\&|RECEIVER|FACILITY|SENDER|FACILITY|20260510120001||ACK|ACK1|P|2.5\rMSA|AA|WHATEVER-42";
  const seen = [];
  await withReceiver(replyWith(ackText, seen), async (rx) => {
    const ack = await clientFor(rx).send(batch);
    assert.deepEqual(seen[0], frame(batch));
    assert.equal(ack.code, "AA");
    assert.equal(ack.controlId, "WHATEVER-42");
  });
  const bhsOnly = batch.split("\r").slice(1, -2).join("\r") + "\r";
  await withReceiver(replyWith(ackText), async (rx) => {
    const ack = await clientFor(rx).send(bhsOnly);
    assert.equal(ack.controlId, "WHATEVER-42");
  });
});
