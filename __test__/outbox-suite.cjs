"use strict";
// The Outbox's delivery rules, run against one store (SQLite in outbox.test.js, PostgreSQL
// in outbox-postgres.test.js): real node:net receivers, the bundled test receiver, and a
// real database. `newStore()` returns a store URL for a fresh, empty database or queue.

const { test } = require("node:test");
const assert = require("node:assert/strict");
const { Outbox } = require("../lib/outbox-entry.cjs");
const { MllpClient, MllpClientError, startTestReceiver } = require("../lib/testing.cjs");
const { hl7, startPolicyReceiver, listenOn, freePort, sleep } = require("./outbox-helpers.cjs");

const client = (port, options = {}) => new MllpClient({ host: "127.0.0.1", port, tls: false, ackTimeout: 5000, connectTimeout: 2000, ...options });
const fast = { initialDelay: 20, maxDelay: 100 };
let unique = 0;
const queueName = () => `q${process.pid}-${++unique}`;

function invalid(re) {
  return (error) => {
    assert.ok(error instanceof MllpClientError, `expected MllpClientError, got ${error}`);
    assert.equal(error.code, "INVALID_INPUT");
    if (re) assert.match(error.message, re);
    return true;
  };
}

function defineOutboxSuite(name, newStore) {
  test(`${name}: enqueue resolves with an id; the bundled test receiver gets every message once, in order`, async (t) => {
    const rx = await startTestReceiver({ port: 0 });
    t.after(() => rx.close());
    const store = await newStore(t);
    const queue = queueName();
    const outbox = await Outbox.open({ client: client(rx.port), store, queue });
    try {
      assert.deepEqual(outbox.stats(), { pending: 0, inFlight: 0, delivered: 0, dead: 0 });
      const N = 60;
      const results = await Promise.all(Array.from({ length: N }, (_, i) => outbox.enqueue(hl7(`ORD${String(i).padStart(3, "0")}`))));
      const ids = results.map((r) => r.id);
      assert.ok(ids.every((id) => Number.isSafeInteger(id) && id > 0), `ids: ${ids}`);
      assert.equal(new Set(ids).size, N);
      await outbox.drain();
      assert.deepEqual(outbox.stats(), { pending: 0, inFlight: 0, delivered: N, dead: 0 });
      assert.deepEqual(rx.received.map((m) => m.controlId), Array.from({ length: N }, (_, i) => `ORD${String(i).padStart(3, "0")}`));
      assert.ok(rx.received.every((m) => m.ackCode === "AA"));
    } finally {
      await outbox.close();
    }
    // Durable: a new Outbox on the same store and queue sees the counts.
    const again = await Outbox.open({ client: client(rx.port), store, queue });
    assert.deepEqual(again.stats(), { pending: 0, inFlight: 0, delivered: 60, dead: 0 });
    await again.close();
  });

  test(`${name}: bytes are stored and sent exactly; a string keeps its characters`, async (t) => {
    const rx = await startPolicyReceiver();
    t.after(() => rx.close());
    const outbox = await Outbox.open({ client: client(rx.port), store: await newStore(t), queue: queueName() });
    t.after(() => outbox.close());
    const bytes = Buffer.from(`${hl7("BYTES1")}\rNTE|1||caf\xe9 \xff`, "latin1");
    await outbox.enqueue(new Uint8Array(bytes));
    await outbox.enqueue(`${hl7("TEXT1")}\rNTE|1||café ✓`);
    await outbox.drain();
    assert.deepEqual(rx.arrivals[0].bytes, bytes);
    assert.deepEqual(rx.arrivals[1].bytes, Buffer.from(`${hl7("TEXT1")}\rNTE|1||café ✓`, "utf8"));
  });

  test(`${name}: AE is retried until AA; AR is dead at once and delivery goes on; requeue sends it again at the end`, async (t) => {
    let reject = true;
    const rx = await startPolicyReceiver({
      policy: (id, n) => (id === "AE1" && n <= 2 ? "AE" : id === "AR1" && reject ? "AR" : "AA"),
    });
    t.after(() => rx.close());
    const outbox = await Outbox.open({ client: client(rx.port), store: await newStore(t), queue: queueName(), retry: fast });
    t.after(() => outbox.close());
    await outbox.enqueue(hl7("AE1"));
    const { id: arId } = await outbox.enqueue(hl7("AR1"));
    await outbox.enqueue(hl7("AFTER1"));
    await outbox.drain();
    assert.deepEqual(rx.arrivals.map((a) => a.controlId), ["AE1", "AE1", "AE1", "AR1", "AFTER1"]);
    assert.deepEqual(outbox.stats(), { pending: 0, inFlight: 0, delivered: 2, dead: 1 });
    const dead = await outbox.dead();
    assert.equal(dead.length, 1);
    assert.equal(dead[0].id, arId);
    assert.equal(dead[0].controlId, "AR1");
    assert.equal(dead[0].code, "AR");
    assert.match(dead[0].reason, /reject/i);
    assert.equal(dead[0].attempts.length, 1);
    assert.equal(dead[0].attempts[0].code, "AR");
    assert.equal(dead[0].attempts[0].sent, true);
    assert.ok(dead[0].attempts[0].at instanceof Date && Math.abs(dead[0].attempts[0].at - Date.now()) < 60000);

    await assert.rejects(outbox.requeue(dead[0].id + 1000), invalid(/not a dead letter/));
    reject = false;
    await outbox.enqueue(hl7("AFTER2"));
    await outbox.drain();
    await outbox.requeue(arId);
    assert.equal(outbox.stats().dead, 0);
    await outbox.drain();
    assert.deepEqual(rx.arrivals.map((a) => a.controlId).slice(-3), ["AFTER1", "AFTER2", "AR1"]);
    assert.deepEqual(outbox.stats(), { pending: 0, inFlight: 0, delivered: 4, dead: 0 });
    assert.deepEqual(await outbox.dead(), []);
  });

  test(`${name}: onNak and maxAttempts: AE as dead; a transport failure dead after maxAttempts with every attempt kept`, async (t) => {
    const rx = await startPolicyReceiver({ policy: (id) => (id.startsWith("NAK") ? "AE" : "close") });
    t.after(() => rx.close());
    const outbox = await Outbox.open({ client: client(rx.port), store: await newStore(t), queue: queueName(), retry: { ...fast, maxAttempts: 3 }, onNak: { AE: "dead" } });
    t.after(() => outbox.close());
    await outbox.enqueue(hl7("NAK1"));
    await outbox.enqueue(hl7("CLOSE1"));
    await outbox.drain();
    const dead = await outbox.dead();
    assert.deepEqual(dead.map((d) => [d.controlId, d.code, d.attempts.length]), [["NAK1", "AE", 1], ["CLOSE1", "CONNECTION_CLOSED", 3]]);
    for (const a of dead[1].attempts) {
      assert.equal(a.code, "CONNECTION_CLOSED");
      assert.equal(a.sent, true);
      assert.match(a.error, /closed/i);
    }
    assert.match(dead[1].reason, /maxAttempts 3/);
    assert.equal(rx.counts.get("CLOSE1"), 3);
  });

  test(`${name}: a receiver that is down, then up: the head is retried with backoff and nothing overtakes it`, async (t) => {
    const port = await freePort();
    const outbox = await Outbox.open({ client: client(port), store: await newStore(t), queue: queueName(), retry: { initialDelay: 50, maxDelay: 200 } });
    t.after(() => outbox.close());
    for (const id of ["DOWN1", "DOWN2", "DOWN3"]) await outbox.enqueue(hl7(id));
    await sleep(700);
    assert.equal(outbox.stats().pending + outbox.stats().inFlight, 3);
    const arrivals = [];
    const rx = await listenOn(port, (socket) => {
      require("./helpers.js").onEachMessage(socket, (m) => {
        arrivals.push(m.split("|")[9]);
        socket.write(Buffer.concat([Buffer.from([0x0b]), Buffer.from(require("./helpers.js").ackFor(m)), Buffer.from([0x1c, 0x0d])]));
      });
    });
    t.after(() => rx.close());
    const up = Date.now();
    await outbox.drain();
    // The backoff ceiling is 200 ms: the head is tried again within it once the receiver is up.
    assert.ok(Date.now() - up < 200 + 1500, `took ${Date.now() - up} ms after the receiver came up`);
    assert.deepEqual(arrivals, ["DOWN1", "DOWN2", "DOWN3"]);
  });

  test(`${name}: backoff: exponential ceiling with full jitter, bounded by maxDelay`, async (t) => {
    const port = await freePort(); // nothing listens: CONNECTION_REFUSED every time
    const retry = { initialDelay: 40, maxDelay: 160, maxAttempts: 7 };
    const outbox = await Outbox.open({ client: client(port), store: await newStore(t), queue: queueName(), retry });
    t.after(() => outbox.close());
    const started = Date.now();
    await outbox.enqueue(hl7("BACKOFF1"));
    await outbox.drain();
    const [dead] = await outbox.dead();
    assert.equal(dead.attempts.length, 7);
    assert.ok(dead.attempts.every((a) => a.code === "CONNECTION_REFUSED" && a.sent === false));
    const gaps = dead.attempts.slice(1).map((a, i) => a.at - dead.attempts[i].at);
    const ceilings = gaps.map((_, i) => Math.min(retry.maxDelay, retry.initialDelay * 2 ** i));
    // Each gap: the jittered wait (<= its ceiling) plus the failed connect and the store write.
    for (const [i, gap] of gaps.entries()) assert.ok(gap >= 0 && gap <= ceilings[i] + 250, `gap ${i + 1} was ${gap} ms, ceiling ${ceilings[i]} ms (gaps ${gaps})`);
    const sum = ceilings.reduce((a, b) => a + b, 0);
    assert.ok(Date.now() - started <= sum + 1500, `all attempts took ${Date.now() - started} ms, ceilings sum to ${sum}`);
    // Full jitter: the waits are not all at their ceiling.
    assert.ok(gaps.some((g, i) => g < ceilings[i] * 0.9), `gaps ${gaps} all at the ceiling: no jitter`);
  });

  test(`${name}: close() is prompt with a send in flight; the message stays pending and the next open sends it`, async (t) => {
    const rx = await startPolicyReceiver({ policy: (_id, n) => (n === 1 ? "hang" : "AA") });
    t.after(() => rx.close());
    const store = await newStore(t);
    const queue = queueName();
    const outbox = await Outbox.open({ client: client(rx.port, { ackTimeout: 30000 }), store, queue });
    await outbox.enqueue(hl7("HANG1"));
    await rx.waitFor((a) => a.controlId === "HANG1");
    assert.equal(outbox.stats().inFlight, 1);
    const drained = assert.rejects(outbox.drain(), invalid(/closed/));
    const closing = Date.now();
    await outbox.close();
    assert.ok(Date.now() - closing < 1000, `close took ${Date.now() - closing} ms`);
    await drained;
    await assert.rejects(outbox.enqueue(hl7("LATE")), invalid(/closed/));
    const again = await Outbox.open({ client: client(rx.port), store, queue });
    await again.drain();
    assert.deepEqual(again.stats(), { pending: 0, inFlight: 0, delivered: 1, dead: 0 });
    assert.equal(rx.counts.get("HANG1"), 2);
    await again.close();
  });

  test(`${name}: mllp outbox stats | dead | requeue ID from a shell, beside a running outbox`, async (t) => {
    const { runProcess } = require("./helpers.js");
    const mllp = (...args) => runProcess(process.execPath, [require("node:path").join(__dirname, "..", "bin", "mllp.js"), "outbox", ...args], { limitMs: 30000 });
    let reject = true;
    const rx = await startPolicyReceiver({ policy: (id) => (id === "CLI2" && reject ? "AR" : "AA") });
    t.after(() => rx.close());
    const store = await newStore(t);
    const queue = queueName();
    const outbox = await Outbox.open({ client: client(rx.port), store, queue, retry: fast });
    t.after(() => outbox.close());
    await outbox.enqueue(hl7("CLI1"));
    const { id } = await outbox.enqueue(hl7("CLI2"));
    await outbox.drain();

    let run = await mllp("stats", "--store", store, "--queue", queue, "--json");
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { queue, pending: 0, delivered: 1, dead: 1 });
    run = await mllp("stats", "--store", store, "--queue", queue);
    assert.match(run.stdout, /pending 0, delivered 1, dead 1/);
    run = await mllp("dead", "--store", store, "--queue", queue, "--json");
    const dead = JSON.parse(run.stdout);
    assert.deepEqual(dead.map((d) => [d.id, d.controlId, d.code, d.attempts.length]), [[id, "CLI2", "AR", 1]]);
    run = await mllp("dead", "--store", store, "--queue", queue);
    assert.match(run.stdout, new RegExp(`^${id}\tCLI2\tAR\t1 attempt`));
    run = await mllp("requeue", String(id + 1000), "--store", store, "--queue", queue);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /not a dead letter/);
    run = await mllp("requeue", "x", "--store", store);
    assert.equal(run.code, 64);
    run = await mllp("stats", "--queue", queue);
    assert.equal(run.code, 64);

    reject = false;
    run = await mllp("requeue", String(id), "--store", store, "--queue", queue);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`requeued ${id}`));
    // The running outbox picks the requeued message up (it polls its store when idle).
    await rx.waitFor((a) => a.controlId === "CLI2" && rx.counts.get("CLI2") === 2, 10000);
    await outbox.drain();
    run = await mllp("stats", "--store", store, "--queue", queue, "--json");
    assert.deepEqual(JSON.parse(run.stdout), { queue, pending: 0, delivered: 2, dead: 0 });
  });

  test(`${name}: bad options and messages are INVALID_INPUT`, async (t) => {
    const c = client(1);
    const store = await newStore(t);
    await assert.rejects(Outbox.open({ client: c }), invalid(/store/));
    await assert.rejects(Outbox.open({ client: {}, store }), invalid(/client/));
    await assert.rejects(Outbox.open({ client: c, store, timeout: 1 }), invalid(/unknown Outbox option timeout/));
    await assert.rejects(Outbox.open({ client: c, store, retry: { maxAttempts: 0 } }), invalid(/maxAttempts/));
    await assert.rejects(Outbox.open({ client: c, store, retry: { initialDelay: 100, maxDelay: 10 } }), invalid(/maxDelay/));
    await assert.rejects(Outbox.open({ client: c, store, onNak: { AE: "ignore" } }), invalid(/onNak.AE/));
    await assert.rejects(Outbox.open({ client: c, store, queue: "" }), invalid(/queue/));
    await assert.rejects(Outbox.open({ client: c, store: "mysql://x" }), invalid(/store/));
    await assert.rejects(Outbox.open({ client: c, store: "sqlite::memory:" }), invalid(/durable/));
    const outbox = await Outbox.open({ client: c, store, queue: queueName() });
    t.after(() => outbox.close());
    await assert.rejects(outbox.enqueue(42), invalid(/string or a Uint8Array/));
    await assert.rejects(outbox.enqueue("hello"), invalid(/MSH/));
    await assert.rejects(outbox.enqueue(`${hl7("X")}\x1c`), invalid(/block bytes/));
    await assert.rejects(outbox.requeue("1"), invalid(/positive integer/));
    assert.equal(outbox.stats().pending, 0);
  });
}

module.exports = { defineOutboxSuite, client, hl7 };
