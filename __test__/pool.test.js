"use strict";
// The opt-in connection pool: reuse, the drop rules, close(), and ordering. Receivers are
// node:net servers written here, so connection counts are seen from the receiver's side.

const test = require("node:test");
const assert = require("node:assert/strict");
const { MllpClient, MllpClientError } = require("../index.cjs");
const { startRawReceiver, frame, ackFor, sample, sleep } = require("./helpers.js");

const base = sample("adt-a01");
const withId = (id) => base.replace("MSG00001", id);

/**
 * A persistent-connection receiver: answers every frame on a socket with `answer(message,
 * socket, index)` (a string to frame, or null for no answer). Records messages in order.
 */
async function persistentReceiver(answer = (m) => ackFor(m)) {
  const messages = [];
  const closedSockets = [];
  const receiver = await startRawReceiver((socket) => {
    let buffered = Buffer.alloc(0);
    socket.on("close", () => closedSockets.push(socket));
    socket.on("data", (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const start = buffered.indexOf(0x0b);
        const end = buffered.indexOf(Buffer.from([0x1c, 0x0d]), start);
        if (start === -1 || end === -1) return;
        const message = buffered.subarray(start + 1, end).toString("utf8");
        buffered = buffered.subarray(end + 2);
        messages.push(message);
        const reply = answer(message, socket, messages.length - 1);
        if (reply !== null) socket.write(frame(reply));
      }
    });
  });
  return { ...receiver, messages, closedSockets };
}

const pooled = (port, pool = { max: 4 }, extra = {}) => new MllpClient({ host: "127.0.0.1", port, tls: false, pool, ...extra });

test("sequential sends reuse one connection, in order", async () => {
  const rx = await persistentReceiver();
  const client = pooled(rx.port);
  try {
    const ids = ["P1", "P2", "P3", "P4", "P5"];
    for (const id of ids) assert.equal((await client.send(withId(id))).controlId, id);
    assert.equal(rx.connections.length, 1, "one connection carried all five messages");
    assert.deepEqual(rx.messages.map((m) => m.split("|")[9]), ids);
  } finally {
    await client.close();
    await rx.close();
  }
});

test("without pool every send opens and closes its own connection", async () => {
  const rx = await persistentReceiver();
  const client = new MllpClient({ host: "127.0.0.1", port: rx.port, tls: false });
  try {
    for (const id of ["N1", "N2", "N3"]) await client.send(withId(id));
    assert.equal(rx.connections.length, 3);
  } finally {
    await rx.close();
  }
});

test("concurrent sends use at most `max` connections, one message in flight on each", async () => {
  let inFlight = 0;
  let most = 0;
  const perSocket = new Map();
  const rx = await persistentReceiver((m, socket) => {
    perSocket.set(socket, (perSocket.get(socket) ?? 0) + 1);
    assert.equal(perSocket.get(socket), 1, "a second message arrived on a busy connection");
    inFlight++;
    most = Math.max(most, inFlight);
    setTimeout(() => {
      inFlight--;
      perSocket.set(socket, 0);
      socket.write(frame(ackFor(m)));
    }, 10);
    return null;
  });
  const client = pooled(rx.port, { max: 3 });
  try {
    const ids = Array.from({ length: 20 }, (_, i) => `C${i}`);
    const acks = await Promise.all(ids.map((id) => client.send(withId(id))));
    assert.deepEqual(acks.map((a) => a.controlId), ids);
    assert.ok(rx.connections.length <= 3, `${rx.connections.length} connections opened`);
    assert.equal(most, 3);
  } finally {
    await client.close();
    await rx.close();
  }
});

test("a timeout drops the connection: the late ACK is never read as the next message's answer", async () => {
  const rx = await persistentReceiver((m, socket, i) => {
    if (i === 0) {
      setTimeout(() => socket.destroyed || socket.write(frame(ackFor(m))), 400); // late
      return null;
    }
    return ackFor(m);
  });
  const client = pooled(rx.port, { max: 1 }, { ackTimeout: 200 });
  try {
    await assert.rejects(client.send(withId("LATE1")), (e) => e instanceof MllpClientError && e.code === "TIMEOUT");
    const ack = await client.send(withId("NEXT2"));
    assert.equal(ack.controlId, "NEXT2");
    assert.equal(rx.connections.length, 2, "the timed-out connection was not reused");
    await sleep(300); // the late ACK arrives on the old connection, which is gone
    assert.equal((await client.send(withId("NEXT3"))).controlId, "NEXT3");
  } finally {
    await client.close();
    await rx.close();
  }
});

test("a control-id mismatch drops the connection", async () => {
  const rx = await persistentReceiver((m, _socket, i) => (i === 0 ? ackFor(withId("SOMEONE-ELSE")) : ackFor(m)));
  const client = pooled(rx.port, { max: 1 });
  try {
    await assert.rejects(client.send(withId("M1")), (e) => e.code === "MALFORMED_ACK");
    assert.equal((await client.send(withId("M2"))).controlId, "M2");
    assert.equal(rx.connections.length, 2);
  } finally {
    await client.close();
    await rx.close();
  }
});

test("a NAK keeps the connection (the exchange ended cleanly)", async () => {
  const rx = await persistentReceiver((m, _socket, i) => (i === 0 ? ackFor(m, "AE", "|no") : ackFor(m)));
  const client = pooled(rx.port, { max: 1 });
  try {
    await assert.rejects(client.send(withId("K1")), (e) => e.code === "AE");
    assert.equal((await client.send(withId("K2"))).code, "AA");
    assert.equal(rx.connections.length, 1);
  } finally {
    await client.close();
    await rx.close();
  }
});

test("an idle connection the receiver closed is not reused", async () => {
  const rx = await persistentReceiver((m, socket) => {
    setTimeout(() => socket.end(), 20); // close after answering
    return ackFor(m);
  });
  const client = pooled(rx.port, { max: 1 });
  try {
    assert.equal((await client.send(withId("S1"))).code, "AA");
    await sleep(100);
    assert.equal((await client.send(withId("S2"))).controlId, "S2");
    assert.equal(rx.connections.length, 2);
  } finally {
    await client.close();
    await rx.close();
  }
});

test("stray bytes on an idle connection make it stale", async () => {
  const rx = await persistentReceiver((m, socket, i) => {
    if (i === 0) setTimeout(() => socket.destroyed || socket.write(frame(ackFor(m))), 20); // a duplicate ACK
    return ackFor(m);
  });
  const client = pooled(rx.port, { max: 1 });
  try {
    await client.send(withId("D1"));
    await sleep(100);
    assert.equal((await client.send(withId("D2"))).controlId, "D2");
    assert.equal(rx.connections.length, 2);
  } finally {
    await client.close();
    await rx.close();
  }
});

test("idleTimeout closes idle connections", async () => {
  const rx = await persistentReceiver();
  const client = pooled(rx.port, { max: 2, idleTimeout: 150 });
  try {
    await client.send(withId("I1"));
    assert.equal(rx.closedSockets.length, 0);
    await sleep(600);
    assert.equal(rx.closedSockets.length, 1, "the idle connection outlived idleTimeout");
    await client.send(withId("I2"));
    assert.equal(rx.connections.length, 2);
  } finally {
    await client.close();
    await rx.close();
  }
});

test("close() ends every pooled connection; later sends reject with INVALID_INPUT", async () => {
  const rx = await persistentReceiver();
  const client = pooled(rx.port, { max: 3 });
  try {
    await Promise.all(["X1", "X2", "X3"].map((id) => client.send(withId(id))));
    assert.ok(rx.connections.length >= 1);
    await client.close();
    await sleep(100);
    assert.equal(rx.closedSockets.length, rx.connections.length, "a pooled connection stayed open after close()");
    await assert.rejects(client.send(withId("X4")), (e) => e instanceof MllpClientError && e.code === "INVALID_INPUT" && e.sent === false);
  } finally {
    await rx.close();
  }
});

test("pool options are validated", () => {
  for (const pool of [{ max: 0 }, { max: 1.5 }, { idleTimeout: -1 }, { size: 2 }, "yes"]) {
    assert.throws(() => pooled(1, pool), (e) => e instanceof MllpClientError && e.code === "INVALID_INPUT", JSON.stringify(pool));
  }
  assert.deepEqual(pooled(1, true).options.pool, { max: 8, idleTimeout: 30000 });
  assert.equal(new MllpClient({ host: "h", port: 1, tls: false }).options.pool, false);
});
