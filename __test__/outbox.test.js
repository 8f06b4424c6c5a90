"use strict";
// The Outbox on its embedded SQLite store (the delivery rules: outbox-suite.cjs), plus what
// only SQLite has: WAL and the synchronous setting, schema versioning, the Workers refusal.

const { test } = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");
const { defineOutboxSuite, client, hl7 } = require("./outbox-suite.cjs");
const { tempDir } = require("./outbox-helpers.cjs");
const { Outbox } = require("../lib/outbox-entry.cjs");

defineOutboxSuite("sqlite", async (t) => `sqlite:${path.join(tempDir(t), "outbox.db")}`);

test("sqlite: the file is in WAL mode with the schema version recorded; synchronous=full is accepted", async (t) => {
  const file = path.join(tempDir(t), "o.db");
  for (const store of [`sqlite:${file}`, `sqlite:${file}?synchronous=full`]) {
    const outbox = await Outbox.open({ client: client(1), store });
    await outbox.enqueue(hl7("WAL1"));
    await outbox.close();
  }
  const { Database } = require("../lib/outbox-sqlite.cjs");
  const db = new Database(file, "normal");
  const [mode, version, rows] = await db.exec([
    { sql: "PRAGMA journal_mode", params: [] },
    { sql: "SELECT version FROM outbox_schema_version", params: [] },
    { sql: "SELECT control_id, status, is_text FROM outbox_messages", params: [] },
  ]);
  await db.close();
  assert.equal(mode.rows[0][0], "wal");
  assert.deepEqual(version.rows, [[1]]);
  assert.deepEqual(rows.rows, [["WAL1", "pending", 1], ["WAL1", "pending", 1]]);
  await assert.rejects(Outbox.open({ client: client(1), store: `sqlite:${file}?synchronous=off` }), /synchronous/);
});

test("sqlite: a store with a newer schema version is refused, not misread", async (t) => {
  const file = path.join(tempDir(t), "new.db");
  const { Database } = require("../lib/outbox-sqlite.cjs");
  const db = new Database(file, "normal");
  await db.exec([{ sql: "CREATE TABLE outbox_schema_version (version INTEGER NOT NULL)", params: [] }, { sql: "INSERT INTO outbox_schema_version VALUES (99)", params: [] }]);
  await db.close();
  await assert.rejects(Outbox.open({ client: client(1), store: `sqlite:${file}` }), /schema version 99/);
});

test("sqlite: a second Outbox on the same queue waits (one deliverer per queue) and takes over when the first closes", async (t) => {
  const { startPolicyReceiver } = require("./outbox-helpers.cjs");
  const rx = await startPolicyReceiver();
  t.after(() => rx.close());
  const store = `sqlite:${path.join(tempDir(t), "two.db")}`;
  const first = await Outbox.open({ client: client(rx.port), store, queue: "lab", retry: { initialDelay: 50, maxDelay: 100 } });
  const second = await Outbox.open({ client: client(rx.port), store, queue: "lab", retry: { initialDelay: 50, maxDelay: 100 } });
  for (let i = 0; i < 20; i++) await (i % 2 ? second : first).enqueue(hl7(`TWO${String(i).padStart(2, "0")}`));
  await first.drain();
  await first.close();
  await second.enqueue(hl7("TWO20"));
  await second.drain();
  await second.close();
  assert.deepEqual(rx.arrivals.map((a) => a.controlId), Array.from({ length: 21 }, (_, i) => `TWO${String(i).padStart(2, "0")}`));
});

test("workers: the Workers Outbox refuses to open with INVALID_INPUT", async () => {
  const { Outbox: WorkersOutbox, MllpClientError } = await import("../lib/workers-outbox.mjs");
  assert.throws(() => WorkersOutbox.open({ store: "sqlite:x.db" }), (e) => e instanceof MllpClientError && e.code === "INVALID_INPUT" && /Workers/.test(e.message));
});
