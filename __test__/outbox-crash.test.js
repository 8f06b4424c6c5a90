"use strict";
// kill -9 of a process in the middle of a delivery (SQLite store): a new process delivers
// everything that was not acknowledged; nothing is lost, only the message in flight may
// arrive twice, and the order holds. Several runs, each killed at a different message.

const { test } = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");
const { startPolicyReceiver, startChild, tempDir, checkRun } = require("./outbox-helpers.cjs");

const CHILD = path.join(__dirname, "outbox-child.cjs");
const RUNS = 5;
const N = 150;

test(`kill -9 mid-delivery, ${RUNS} runs: a new process drains; none lost, at most the one in flight twice, order kept`, { timeout: 240000 }, async (t) => {
  const report = [];
  for (let run = 1; run <= RUNS; run++) {
    const store = `sqlite:${path.join(tempDir(t), `crash${run}.db`)}`;
    const prefix = `R${run}X`;
    const ids = Array.from({ length: N }, (_, i) => `${prefix}${String(i).padStart(5, "0")}`);
    // Slow ACKs (15 ms) so the kill lands while a message waits for its ACK.
    const rx = await startPolicyReceiver({ delay: 15 });
    try {
      const killAt = 10 + Math.floor(((run - 1) / RUNS) * (N - 40)) + Math.floor(Math.random() * 10);
      const first = startChild(CHILD, [JSON.stringify({ store, queue: "adt", port: rx.port, enqueue: N, prefix })]);
      await first.line(/^ENQUEUED/);
      const inFlight = await rx.waitFor((a) => rx.arrivals.indexOf(a) + 1 >= killAt);
      const { signal } = await first.kill9();
      assert.equal(signal, "SIGKILL");
      const before = rx.arrivals.length;
      const second = startChild(CHILD, [JSON.stringify({ store, queue: "adt", port: rx.port, drain: true })]);
      const drained = await second.line(/^DRAINED/, 60000);
      assert.equal((await second.exited).code, 0, second.stderr());
      const stats = JSON.parse(drained.slice("DRAINED ".length));
      assert.equal(stats.pending + stats.inFlight, 0);
      assert.equal(stats.delivered, N);
      const counts = checkRun(rx.arrivals, ids, inFlight.controlId);
      report.push(`run ${run}: killed at arrival ${before} (${inFlight.controlId} in flight), then ${counts.received} arrivals, ${counts.distinct}/${N} distinct, ${counts.duplicates} duplicate(s), ${counts.lost} lost`);
    } finally {
      await rx.close();
    }
  }
  for (const line of report) console.log(`crash ${line}`);
});
