"use strict";
// The field defects of issue 12, each against a receiver written here with node:net or
// node:tls. `npm test` runs this file on both I/O paths (event loop, and GLION_MLLP_IO=tokio).
// Rules: docs/ARCHITECTURE.md "The send engine".

const test = require("node:test");
const assert = require("node:assert/strict");
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const tls = require("node:tls");
const { MllpClient } = require("../index.cjs");
const { withReceiver, clientFor, frame, ackFor, controlIdOf, onEachMessage, sleep, runProcess, transportError } =
  require("./helpers.js");

let counter = 0;
function message(extra = "") {
  const id = `ENG${process.pid}${String(++counter).padStart(5, "0")}`;
  return `MSH|^~\\&|SENDER|FACILITY|RECEIVER|FACILITY|20260510120000||ADT^A01^ADT_A01|${id}|P|2.5\rPID|1||PATID1234^^^FACILITY^MR||DOE^JOHN${extra}`;
}

/** A message of about `size` bytes as a Buffer (OBX value of `fill` bytes). */
function bigMessage(size, fill = "A") {
  const head = Buffer.from(`${message()}\rOBX|1|ED|||`, "latin1");
  const body = Buffer.alloc(size - head.length, fill);
  const out = Buffer.allocUnsafeSlow(size); // its own ArrayBuffer (never Node's shared pool)
  head.copy(out, 0);
  body.copy(out, head.length);
  return out;
}

/** Answers every frame with AA; `seen` gets each message's bytes. Reads only after `delayMs`. */
function answering(seen, { delayMs = 0, after } = {}) {
  return (socket) => {
    if (delayMs) {
      socket.pause();
      setTimeout(() => socket.resume(), delayMs);
    }
    const chunks = [];
    socket.on("data", (chunk) => {
      chunks.push(chunk);
      const all = Buffer.concat(chunks);
      const end = all.indexOf(Buffer.from([0x1c, 0x0d]));
      if (end === -1) return;
      chunks.length = 0;
      if (end + 2 < all.length) chunks.push(all.subarray(end + 2));
      const body = all.subarray(all.indexOf(0x0b) + 1, end);
      seen.push(body);
      socket.write(frame(ackFor(body.toString("latin1"))));
      after?.(socket);
    });
  };
}

// ---------------------------------------------------------------------------------------
// Defect 1: the message bytes belong to the call
// ---------------------------------------------------------------------------------------

for (const pool of [false, { max: 1 }]) {
  for (const size of [1024 * 1024, 8 * 1024 * 1024]) {
    const label = `${size / 1024 / 1024} MiB${pool ? ", pool" : ""}`;

    test(`defect 1: a Buffer mutated right after send() returns goes out as it was at the call (${label})`, async () => {
      const seen = [];
      await withReceiver(answering(seen, { delayMs: 150 }), async (rx) => {
        const client = clientFor(rx, { pool, maxFrameBytes: 16 * 1024 * 1024 });
        const bytes = bigMessage(size, "A");
        const original = Buffer.from(bytes);
        const pending = client.send(bytes);
        bytes.fill(0x42, 200); // another document in the same memory
        assert.equal((await pending).code, "AA");
        await client.close();
        assert.equal(seen.length, 1);
        assert.ok(seen[0].equals(original), "the receiver got bytes written after send() returned");
      });
    });

    test(`defect 1: a Buffer whose memory is transferred right after send() returns (${label})`, async () => {
      const seen = [];
      await withReceiver(answering(seen, { delayMs: 150 }), async (rx) => {
        const client = clientFor(rx, { pool, maxFrameBytes: 16 * 1024 * 1024 });
        const bytes = bigMessage(size, "C");
        const original = Buffer.from(bytes);
        const pending = client.send(bytes);
        // The caller's ArrayBuffer moves away (detached here); its new owner rewrites it.
        const moved = new Uint8Array(structuredClone(bytes.buffer, { transfer: [bytes.buffer] }));
        assert.equal(bytes.length, 0, "the view is detached");
        moved.fill(0x44, 200);
        assert.equal((await pending).code, "AA");
        await client.close();
        assert.ok(seen[0].equals(original), "the receiver got bytes from memory the caller gave away");
      });
    });
  }
}

test("defect 1: a detached view is INVALID_INPUT, sent: false, and opens no connection", async () => {
  let connections = 0;
  await withReceiver(() => connections++, async (rx) => {
    const bytes = new Uint8Array(Buffer.from(message(), "latin1"));
    structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
    await assert.rejects(clientFor(rx).send(bytes), transportError("INVALID_INPUT", false));
    await assert.rejects(clientFor(rx, { pool: true }).send(bytes), transportError("INVALID_INPUT", false));
  });
  assert.equal(connections, 0);
});

// ---------------------------------------------------------------------------------------
// Defect 2: a pool against a receiver that closes after each ACK
// ---------------------------------------------------------------------------------------

/**
 * An MLLP receiver in its own process (so it answers and closes while this thread is busy,
 * as a real one does): answers each frame with AA, prints each message's MSH-10 on stdout,
 * and with `close` "destroy" (at once) or "destroy-next-turn" closes the connection after each ACK (hl7apy's
 * server and many engines do). Resolves with { port, ids, stop() }.
 */
async function childReceiver(close = "") {
  const { spawn } = require("node:child_process");
  const child = spawn(process.execPath, ["-e", `
    const net = require("node:net");
    const close = process.argv[1];
    const server = net.createServer((socket) => {
      socket.on("error", () => {});
      let buffered = "";
      socket.on("data", (chunk) => {
        buffered += chunk.toString("latin1");
        let end;
        while ((end = buffered.indexOf("\\x1c\\r")) !== -1) {
          const msh = buffered.slice(buffered.indexOf("\\x0b") + 1).split("\\r")[0];
          buffered = buffered.slice(end + 2);
          const id = msh.split("|")[9];
          process.stdout.write(id + "\\n");
          socket.write("\\x0bMSH|^~\\\\&|R|F|S|F|20260510120001||ACK|A1|P|2.5\\rMSA|AA|" + id + "\\x1c\\r");
          // Closed for good, as hl7apy's server and many engines do after each ACK (a
          // socket.end() would leave it open for reading: such a receiver does read the next
          // message, and CONNECTION_CLOSED sent: true is then right).
          if (close === "destroy") socket.destroy();
          if (close === "destroy-next-turn") setImmediate(() => socket.destroy());
        }
      });
    });
    server.listen(0, "127.0.0.1", () => process.stdout.write("PORT " + server.address().port + "\\n"));
  `, close], { stdio: ["ignore", "pipe", "inherit"] });
  const ids = [];
  let buffered = "";
  const port = await new Promise((resolve, reject) => {
    child.on("exit", (code) => reject(new Error(`receiver exited ${code}`)));
    child.stdout.setEncoding("utf8").on("data", (chunk) => {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf("\n")) !== -1) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith("PORT ")) resolve(Number(line.slice(5)));
        else ids.push(line);
      }
    });
  });
  return { port, ids, stop: () => child.kill("SIGKILL") };
}

for (const how of ["destroy", "destroy-next-turn"]) {
  test(`defect 2: 200 pooled sends to a receiver that closes each connection after its ACK (${how}) all succeed, each received once`, async () => {
    const rx = await childReceiver(how);
    try {
      const client = new MllpClient({ host: "127.0.0.1", port: rx.port, tls: false, ackTimeout: 5000, pool: { max: 1 } });
      const sent = [];
      const failures = [];
      for (let i = 0; i < 200; i++) {
        const text = message();
        sent.push(controlIdOf(text));
        try {
          assert.equal((await client.send(text)).controlId, controlIdOf(text));
        } catch (error) {
          failures.push(`${controlIdOf(text)}: ${error.code} sent=${error.sent} ${error.message}`);
        }
      }
      await client.close();
      await sleep(100); // the last id line
      assert.deepEqual(failures, [], `${failures.length} of 200 sends failed`);
      assert.deepEqual(rx.ids, sent, "every message received exactly once, in order");
    } finally {
      rx.stop();
    }
  });
}

// ---------------------------------------------------------------------------------------
// Defect 3: an ACK that arrived in time is not a TIMEOUT because the JS thread was busy
// ---------------------------------------------------------------------------------------

for (const pool of [false, { max: 1 }]) {
  test(`defect 3: a busy JS thread does not turn an ACK that arrived in time into TIMEOUT${pool ? " (pool)" : ""}`, async () => {
    // The receiver runs in its own process: it answers while this thread is busy.
    const rx = await childReceiver();
    const port = rx.port;
    try {
      const client = new MllpClient({ host: "127.0.0.1", port, tls: false, ackTimeout: 300, pool });
      for (let i = 0; i < 3; i++) {
        const pending = client.send(message());
        const until = Date.now() + 700; // busy well past the ackTimeout; the ACK comes in ~1 ms
        while (Date.now() < until);
        const ack = await pending;
        assert.equal(ack.code, "AA");
      }
      await client.close();
    } finally {
      rx.stop();
    }
  });
}

// ---------------------------------------------------------------------------------------
// Defect 4: a TLS error after the receiver read the whole message is sent: true
// ---------------------------------------------------------------------------------------

const CERT_DIR = path.join(__dirname, ".certs", "engine");
execFileSync("bash", [path.join(__dirname, "..", "scripts", "make-test-certs.sh"), CERT_DIR], { stdio: "inherit" });
const PEM = {
  ca: fs.readFileSync(path.join(CERT_DIR, "ca.pem"), "utf8"),
  server: fs.readFileSync(path.join(CERT_DIR, "server.pem"), "utf8"),
  serverKey: fs.readFileSync(path.join(CERT_DIR, "server-key.pem"), "utf8"),
};

/**
 * A TLS receiver whose TLS layer runs over a bridge to the raw TCP socket, so that a test
 * can put bytes on the wire underneath it. `onMessage(raw, text)` gets every message.
 */
async function withTlsServer(options, onMessage, body) {
  const { Duplex } = require("node:stream");
  const net = require("node:net");
  const context = tls.createSecureContext({ cert: PEM.server, key: PEM.serverKey, ...options });
  const sockets = [];
  const server = net.createServer((raw) => {
    sockets.push(raw);
    raw.on("error", () => {});
    const bridge = new Duplex({ read() {}, write: (chunk, _encoding, done) => raw.write(chunk, done) });
    raw.on("data", (chunk) => bridge.push(chunk));
    raw.on("end", () => bridge.push(null));
    const secure = new tls.TLSSocket(bridge, { isServer: true, secureContext: context });
    secure.on("error", () => {});
    onEachMessage(secure, (text) => onMessage(raw, text));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    return await body(server.address().port);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

const BREAKS = [
  // Bytes that are no TLS record at all: the client cannot decode them.
  ["garbage bytes", (raw) => raw.write(Buffer.alloc(64, 0x55))],
  // An application-data record whose contents do not decrypt (bad MAC).
  ["a bad record", (raw) => raw.write(Buffer.concat([Buffer.from([0x17, 0x03, 0x03, 0x00, 0x40]), Buffer.alloc(64, 0x77)]))],
];

for (const version of ["TLSv1.2", "TLSv1.3"]) {
  for (const [what, breakStream] of BREAKS) {
    test(`defect 4: ${version}: the receiver reads the whole message, then the TLS stream breaks (${what}): sent: true`, async () => {
      let received = 0;
      await withTlsServer({ minVersion: version, maxVersion: version }, (raw) => {
        received++;
        breakStream(raw);
      }, async (port) => {
        for (const pool of [false, { max: 1 }]) {
          const client = new MllpClient({ host: "127.0.0.1", port, tls: { ca: PEM.ca, servername: "localhost" }, ackTimeout: 3000, pool });
          await assert.rejects(client.send(message()), transportError("TLS_ERROR", true));
          await client.close();
        }
      });
      assert.equal(received, 2, "the receiver read each message");
    });
  }
}

// ---------------------------------------------------------------------------------------
// Defect 5: pool slot wait + connect share one connectTimeout
// ---------------------------------------------------------------------------------------

test("defect 5: waiting for a pool slot and connecting take at most connectTimeout together", async () => {
  const net = require("node:net");
  // The first connection reaches a real TLS receiver, which answers after 500 ms with a
  // wrong MSA-2 (so that connection is dropped); every later one is accepted and never
  // answers the TLS handshake, so connecting runs into the deadline.
  const secure = tls.createServer({ cert: PEM.server, key: PEM.serverKey }, (socket) => {
    socket.on("error", () => {});
    onEachMessage(socket, (text) => setTimeout(() => socket.write(frame(ackFor(text.replace(/ENG/, "XXX")))), 500));
  });
  await new Promise((resolve) => secure.listen(0, "127.0.0.1", resolve));
  let connections = 0;
  const sockets = [];
  const front = net.createServer((raw) => {
    sockets.push(raw);
    raw.on("error", () => {});
    if (connections++ > 0) return;
    const upstream = net.connect(secure.address().port, "127.0.0.1");
    upstream.on("error", () => {});
    sockets.push(upstream);
    raw.pipe(upstream).pipe(raw);
  });
  await new Promise((resolve) => front.listen(0, "127.0.0.1", resolve));
  try {
    const client = new MllpClient({ host: "127.0.0.1", port: front.address().port, tls: { ca: PEM.ca, servername: "localhost" }, connectTimeout: 1000, pool: { max: 1 } });
    const started = Date.now();
    const both = [client.send(message()), client.send(message())].map((send) => send.then(
      () => assert.fail("a send succeeded"),
      (error) => ({ error, at: Date.now() - started }),
    ));
    const [first, second] = await Promise.all(both);
    transportError("MALFORMED_ACK", true)(first.error);
    transportError("TIMEOUT", false)(second.error);
    // Slot free at ~500 ms; the connect then gets what is left of the 1000 ms, not 1000 more.
    assert.ok(second.at < 1350, `the second send failed after ${second.at} ms, connectTimeout is 1000 ms`);
    await client.close();
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => front.close(resolve));
    await new Promise((resolve) => secure.close(resolve));
  }
});

// ---------------------------------------------------------------------------------------
// Defect 6: stream() aborted while the consumer is busy between frames
// ---------------------------------------------------------------------------------------

test("defect 6: a stream aborted while the consumer is between frames closes its connection at once", async () => {
  let closedAt;
  let resolveClosed;
  const closed = new Promise((resolve) => (resolveClosed = resolve));
  await withReceiver((socket) => {
    onEachMessage(socket, (text) => socket.write(frame(ackFor(text, "CA"))));
    socket.on("close", () => {
      closedAt = Date.now();
      resolveClosed();
    });
  }, async (rx) => {
    const controller = new AbortController();
    const reason = new Error("operator cancelled");
    let abortedAt;
    await assert.rejects((async () => {
      for await (const ack of clientFor(rx).stream(message(), { signal: controller.signal })) {
        assert.equal(ack.code, "CA");
        setTimeout(() => {
          abortedAt = Date.now();
          controller.abort(reason);
        }, 50);
        await sleep(1500); // busy with the CA; next() is not pending
      }
    })(), (error) => error === reason);
    await closed;
    assert.ok(closedAt - abortedAt < 500, `the connection closed ${closedAt - abortedAt} ms after the abort`);
  });
});

// ---------------------------------------------------------------------------------------
// Defect 7: Rust decides whether the event loop can be used
// ---------------------------------------------------------------------------------------

const BUN = path.join(__dirname, "..", "node_modules", ".bin", "bun");
test("defect 7: under Bun a client asked for the event loop falls back to tokio and sends", { skip: (!fs.existsSync(BUN) || typeof Bun !== "undefined") && "needs node_modules/.bin/bun, run from Node" }, async () => {
  const seen = [];
  await withReceiver(answering(seen), async (rx) => {
    const script = `
      const native = require(${JSON.stringify(path.join(__dirname, "..", "binding.cjs"))});
      const { createClientClass } = require(${JSON.stringify(path.join(__dirname, "..", "lib", "native-client.cjs"))});
      const MllpClient = createClientClass(native, { eventLoop: true });
      const client = new MllpClient({ host: "127.0.0.1", port: ${rx.port}, tls: false, ackTimeout: 5000 });
      client.send(${JSON.stringify(message())}).then((ack) => console.log("ACK " + ack.code), (e) => console.log("ERR " + e.message));
    `;
    const run = await runProcess(BUN, ["-e", script], { limitMs: 20000 });
    assert.equal(run.signal, null, `bun died: ${run.stderr}`);
    assert.equal(run.code, 0, `bun exited ${run.code}: ${run.stderr}`);
    assert.match(run.stdout, /ACK AA/);
  });
  assert.equal(seen.length, 1);
});
