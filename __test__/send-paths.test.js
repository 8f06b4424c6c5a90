"use strict";
// How a send gets to the socket (README, "How a send runs"): a string, large or small, is
// written once as UTF-8 into its frame buffer in Rust (then re-encoded only for another
// charset), so large strings must arrive exactly as small ones do; on Node, plain-TCP sends
// to an IP address run on Node's own event loop (src/binding/loop_client.rs), everything
// else on the tokio runtime. `npm test` runs the client test files a second time with
// GLION_MLLP_IO=tokio, so both paths meet the same receivers; the tests here cover what is
// particular to each.

const test = require("node:test");
const assert = require("node:assert/strict");
const net = require("node:net");
const { MllpClient } = require("../index.cjs");
const { startRawReceiver, withReceiver, clientFor, frame, ackFor, collectFrames, onEachMessage, sample, sleep, runScript, transportError } =
  require("./helpers.js");

const ADT = sample("adt-a01"); // MSH-10 = MSG00001
// The event-loop path: Node on Linux (it uses epoll), unless GLION_MLLP_IO=tokio.
const ON_EVENT_LOOP = !process.versions.bun && process.platform === "linux" && process.env.GLION_MLLP_IO !== "tokio";
const NOT_ON_EVENT_LOOP = ON_EVENT_LOOP ? false : "the event-loop path runs only on Node on Linux without GLION_MLLP_IO=tokio";

/** Answers the first frame on each connection with AA, recording what arrived. */
function answerOnce(seen) {
  return async (socket) => {
    const bytes = await collectFrames(socket);
    seen.push(bytes);
    socket.write(frame(ackFor(bytes.subarray(1, -2).toString("latin1"))));
  };
}

/** ADT^A01 plus an OBX whose value is `filler` repeated to at least `size` characters. */
function large(filler, size = 100 * 1024) {
  return `${ADT}\rOBX|1|TX|||${filler.repeat(Math.ceil(size / filler.length))}`;
}

// ---------------------------------------------------------------------------------------
// Large strings (encoded in JS, sent as bytes)
// ---------------------------------------------------------------------------------------

test("paths: a large UTF-8 string with multi-byte characters arrives byte for byte", async () => {
  const message = large("Zoë Ångström 東京 🏥 ");
  const seen = [];
  await withReceiver(answerOnce(seen), async (rx) => {
    const ack = await clientFor(rx).send(message);
    assert.equal(ack.code, "AA");
    assert.equal(ack.controlId, "MSG00001");
  });
  assert.deepEqual(seen[0], frame(Buffer.from(message, "utf8")));
});

test("paths: with encoding latin1 a large string arrives as latin1 bytes (ASCII, and with é)", async () => {
  for (const message of [large("plain ASCII text "), large("café déjà vu ")]) {
    const seen = [];
    await withReceiver(answerOnce(seen), async (rx) => {
      assert.equal((await clientFor(rx, { encoding: "latin1" }).send(message)).code, "AA");
    });
    assert.deepEqual(seen[0], frame(Buffer.from(message, "latin1")));
  }
});

test("paths: a large string is checked like a small one (INVALID_INPUT, nothing sent)", async () => {
  let connections = 0;
  await withReceiver(() => connections++, async (rx) => {
    const latin1 = clientFor(rx, { encoding: "latin1" });
    await assert.rejects(latin1.send(large("price in € ")), transportError("INVALID_INPUT", false));
    await assert.rejects(clientFor(rx).send(large("block \x1c byte ")), transportError("INVALID_INPUT", false));
    await assert.rejects(clientFor(rx).send(`PID|1\r${large("x")}`), transportError("INVALID_INPUT", false));
  });
  assert.equal(connections, 0);
});

test("paths: a large string's \\n line ends go out as \\r, as a small one's do", async () => {
  const message = large("line\nend ").replace(/\r/g, "\n");
  const seen = [];
  await withReceiver(answerOnce(seen), async (rx) => {
    assert.equal((await clientFor(rx).send(message)).code, "AA");
  });
  assert.deepEqual(seen[0], frame(Buffer.from(message.replace(/\n/g, "\r"), "utf8")));
});

// ---------------------------------------------------------------------------------------
// Hosts: IP addresses (event loop on Node) and names (tokio)
// ---------------------------------------------------------------------------------------

test("paths: an IPv6 address (::1) and a host name (localhost) both work", async (t) => {
  const server = net.createServer((socket) => {
    socket.on("error", () => {});
    answerOnce([])(socket);
  });
  const v6 = await new Promise((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(0, "::1", () => resolve(true));
  });
  if (!v6) {
    t.skip("this machine has no IPv6 loopback");
    return;
  }
  try {
    const port = server.address().port;
    const ack = await new MllpClient({ host: "::1", port, tls: false }).send(ADT);
    assert.equal(ack.controlId, "MSG00001");
    // localhost resolves to ::1 and/or 127.0.0.1; a v4 listener on the same port may not
    // exist, so connect to whichever answers: the name goes through DNS resolution.
    const rx = await startRawReceiver(answerOnce([]));
    try {
      const ack = await new MllpClient({ host: "localhost", port: rx.port, tls: false }).send(ADT);
      assert.equal(ack.code, "AA");
    } finally {
      await rx.close();
    }
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

// ---------------------------------------------------------------------------------------
// The pool's waiting line (both paths)
// ---------------------------------------------------------------------------------------

test("paths: pooled sends beyond max wait their turn; a wait longer than connectTimeout is TIMEOUT (sent: false)", async () => {
  const rx = await startRawReceiver((socket) => {
    socket.on("data", (chunk) => {
      const text = chunk.toString("latin1");
      // Answer after 300 ms: the single slot stays busy that long.
      if (text.includes("\x1c\r")) setTimeout(() => socket.destroyed || socket.write(frame(ackFor(text.slice(text.indexOf("\x0b") + 1)))), 300);
    });
  });
  try {
    const client = new MllpClient({ host: "127.0.0.1", port: rx.port, tls: false, connectTimeout: 100, pool: { max: 1 } });
    const first = client.send(ADT.replace("MSG00001", "W1"));
    const second = client.send(ADT.replace("MSG00001", "W2"));
    const started = Date.now();
    await assert.rejects(second, transportError("TIMEOUT", false));
    assert.ok(Date.now() - started < 280, "the waiting send gave up at connectTimeout, before the slot freed");
    assert.equal((await first).controlId, "W1");
    // The slot is free again: the next send goes through on the same connection.
    assert.equal((await client.send(ADT.replace("MSG00001", "W3"))).controlId, "W3");
    assert.equal(rx.connections.length, 1);
    await client.close();
  } finally {
    await rx.close();
  }
});

test("paths: many pooled sends to a closed port all reject with CONNECTION_REFUSED, none hangs", async () => {
  const closed = await startRawReceiver();
  const port = closed.port;
  await closed.close();
  const client = new MllpClient({ host: "127.0.0.1", port, tls: false, pool: { max: 2 } });
  const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => client.send(ADT.replace("MSG00001", `R${i}`))));
  for (const r of results) {
    assert.equal(r.status, "rejected");
    transportError("CONNECTION_REFUSED", false)(r.reason);
  }
  await client.close();
});

test("paths: an AbortSignal stops a pooled send that is waiting for a slot; the others go through", async () => {
  const rx = await startRawReceiver((socket) =>
    onEachMessage(socket, (message) => setTimeout(() => socket.destroyed || socket.write(frame(ackFor(message))), 50)));
  try {
    const client = new MllpClient({ host: "127.0.0.1", port: rx.port, tls: false, pool: { max: 1 } });
    const controller = new AbortController();
    const sends = ["A1", "A2", "A3"].map((id) =>
      client.send(ADT.replace("MSG00001", id), id === "A2" ? { signal: controller.signal } : undefined));
    controller.abort(new Error("changed my mind"));
    const [a1, a2, a3] = await Promise.allSettled(sends);
    assert.equal(a1.value.controlId, "A1");
    assert.equal(a2.reason.message, "changed my mind");
    assert.equal(a3.value.controlId, "A3");
    assert.equal(rx.connections.length, 1);
    await client.close();
  } finally {
    await rx.close();
  }
});

// ---------------------------------------------------------------------------------------
// Event-loop path only
// ---------------------------------------------------------------------------------------

test("paths: an idle pooled connection the receiver closes is dropped at once, before any send", { skip: NOT_ON_EVENT_LOOP }, async () => {
  let endedAt = 0;
  let closedAt = 0;
  const rx = await startRawReceiver(async (socket) => {
    socket.on("close", () => (closedAt = Date.now()));
    const bytes = await collectFrames(socket);
    socket.write(frame(ackFor(bytes.subarray(1, -2).toString("latin1"))));
    setTimeout(() => {
      endedAt = Date.now();
      socket.end(); // half-close: the socket closes only when the client closes its side
    }, 50);
  });
  try {
    // idleTimeout 60 s: only noticing the receiver's FIN can close it this soon.
    const client = new MllpClient({ host: "127.0.0.1", port: rx.port, tls: false, pool: { max: 1, idleTimeout: 60000 } });
    await client.send(ADT);
    const until = Date.now() + 2000;
    while (closedAt === 0 && Date.now() < until) await sleep(20);
    assert.ok(endedAt > 0 && closedAt > 0, "the client kept the idle connection the receiver had ended");
    assert.ok(closedAt - endedAt < 1000, `closed ${closedAt - endedAt} ms after the receiver's FIN`);
    // And the next send opens a fresh connection.
    assert.equal((await client.send(ADT)).code, "AA");
    assert.equal(rx.connections.length, 2);
    await client.close();
  } finally {
    await rx.close();
  }
});

test("paths: a worker terminated with idle pooled connections and sends in flight ends cleanly", { skip: NOT_ON_EVENT_LOOP }, async () => {
  const script = `
    const { Worker } = require("node:worker_threads");
    const net = require("node:net");
    const { frame, ackFor, onEachMessage } = require("./__test__/helpers.js");
    (async () => {
      const sockets = [];
      // Answers every frame with AA, except those whose MSH-10 starts with SILENT.
      const server = net.createServer((s) => {
        sockets.push(s);
        s.on("error", () => {});
        onEachMessage(s, (message) => message.includes("|SILENT") || s.write(frame(ackFor(message))));
      });
      await new Promise((r) => server.listen(0, "127.0.0.1", r));
      const worker = new Worker(\`
        const { workerData, parentPort } = require("node:worker_threads");
        const { MllpClient } = require(workerData.root + "/index.cjs");
        const msg = (id) => "MSH|^~\\\\\\\\&|S|F|R|F|20260510||ADT^A01|" + id + "|P|2.5";
        const pooled = new MllpClient({ host: "127.0.0.1", port: workerData.port, tls: false, pool: { max: 4 } });
        const single = new MllpClient({ host: "127.0.0.1", port: workerData.port, tls: false });
        (async () => {
          await Promise.all([1, 2, 3].map((i) => pooled.send(msg("P" + i))));
          pooled.send(msg("SILENT1")).catch(() => {});
          single.send(msg("SILENT2")).catch(() => {});
          parentPort.postMessage("ready");
        })();
      \`, { eval: true, workerData: { root: process.cwd(), port: server.address().port } });
      await new Promise((r) => worker.on("message", r));
      await sleep(100);
      const code = await worker.terminate();
      await sleep(200);
      const open = sockets.filter((s) => !s.destroyed && !s.readableEnded).length;
      // The addon still works on the main thread afterwards.
      const { MllpClient } = require("./index.cjs");
      const ack = await new MllpClient({ host: "127.0.0.1", port: server.address().port, tls: false }).send("MSH|^~\\\\&|S|F|R|F|20260510||ADT^A01|MAIN|P|2.5");
      for (const s of sockets) s.destroy();
      server.close();
      console.log(JSON.stringify({ code, connections: sockets.length, open, main: ack.controlId }));
    })();
    function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }
  `;
  const run = await runScript(script);
  assert.equal(run.signal, null, run.stderr);
  assert.equal(run.code, 0, run.stderr);
  assert.doesNotMatch(run.stderr, /Assertion|uv_loop_close|FATAL|Segmentation|panicked/i);
  const report = JSON.parse(run.stdout);
  assert.equal(report.code, 1, "terminate() ends a worker with exit code 1");
  // The pooled connections (idle, and one waiting for the silent ACK) and the per-message
  // one: all closed with the worker.
  assert.ok(report.connections >= 4, `connections: ${report.connections}`);
  assert.equal(report.open, 0, "a connection of the terminated worker is still open");
  assert.equal(report.main, "MAIN");
});

test("paths: ackTimeout counts from the send, even when the event loop's turn was busy before it", async () => {
  await withReceiver((socket) => socket.resume(), async (rx) => {
    const client = clientFor(rx, { ackTimeout: 500 });
    await sleep(10); // start from a fresh loop turn, then keep it busy for 300 ms
    const busyUntil = Date.now() + 300;
    while (Date.now() < busyUntil);
    const started = Date.now();
    const error = await client.send(ADT).then(() => null, (e) => e);
    const waited = Date.now() - started;
    transportError("TIMEOUT", true)(error);
    assert.ok(waited >= 480, `TIMEOUT after only ${waited} ms (ackTimeout 500): the deadline counted from before the send`);
  });
});

test("paths: a 4 MiB message to a receiver that reads slowly goes through, then the pooled connection is reused", async () => {
  const big = large("x", 4 << 20);
  // Reads nothing for 200 ms (the client's socket buffer fills and it must wait to write),
  // then everything; answers each whole frame.
  const rx = await startRawReceiver((socket) => {
    socket.pause();
    setTimeout(() => socket.resume(), 200);
    onEachMessage(socket, (message) => socket.write(frame(ackFor(message))));
  });
  try {
    for (const pool of [undefined, { max: 1 }]) {
      const client = new MllpClient({ host: "127.0.0.1", port: rx.port, tls: false, ackTimeout: 10000, ...(pool ? { pool } : {}) });
      assert.equal((await client.send(big)).controlId, "MSG00001");
      assert.equal((await client.send(ADT.replace("MSG00001", "AFTER"))).controlId, "AFTER");
      await client.close();
    }
    // One connection per send without a pool, one for both sends with it.
    assert.equal(rx.connections.length, 3);
  } finally {
    await rx.close();
  }
});
