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
  assert.deepEqual(version.rows, [[2]]);
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

test("sqlite: a version 1 store (attempts in their own table) opens as version 2 with every attempt kept, in order", async (t) => {
  const file = path.join(tempDir(t), "v1.db");
  const { Database } = require("../lib/outbox-sqlite.cjs");
  const db = new Database(file, "normal");
  const q = (text, ...params) => ({ sql: text, params });
  // Version 1's schema, as it was written (only the tables this upgrade touches).
  await db.exec([
    q("CREATE TABLE outbox_schema_version (version INTEGER NOT NULL)"),
    q("INSERT INTO outbox_schema_version VALUES (1)"),
    q(`CREATE TABLE outbox_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, seq INTEGER NOT NULL,
       status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')), payload BLOB NOT NULL, is_text INTEGER NOT NULL,
       control_id TEXT, enqueued_at INTEGER NOT NULL, attempt_count INTEGER NOT NULL DEFAULT 0, settled_at INTEGER, code TEXT, reason TEXT)`),
    q("CREATE INDEX outbox_messages_next ON outbox_messages (queue, status, seq)"),
    q("CREATE INDEX outbox_messages_seq ON outbox_messages (seq)"),
    q("CREATE TABLE outbox_attempts (message_id INTEGER NOT NULL REFERENCES outbox_messages (id), at INTEGER NOT NULL, code TEXT, sent INTEGER, error TEXT)"),
    q("CREATE INDEX outbox_attempts_message ON outbox_attempts (message_id)"),
    q("CREATE TABLE outbox_leases (queue TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at INTEGER NOT NULL)"),
    q("INSERT INTO outbox_messages (queue, seq, status, payload, is_text, control_id, enqueued_at, attempt_count, code, reason) VALUES ('default', 1, 'dead', ?1, 1, 'OLD1', 1, 2, 'AR', 'no')", Buffer.from(hl7("OLD1"))),
    q("INSERT INTO outbox_messages (queue, seq, status, payload, is_text, control_id, enqueued_at) VALUES ('default', 2, 'dead', ?1, 1, 'OLD2', 1)", Buffer.from(hl7("OLD2"))),
    q("INSERT INTO outbox_attempts VALUES (1, 1000, 'CONNECT_FAILED', 0, 'refused')"),
    q("INSERT INTO outbox_attempts VALUES (1, 2000, 'AR', 1, 'no')"),
  ]);
  await db.close();
  const outbox = await Outbox.open({ client: client(1), store: `sqlite:${file}` });
  const dead = await outbox.dead();
  await outbox.close();
  assert.deepEqual(
    dead.map((d) => [d.controlId, d.attempts.map((a) => [a.at.getTime(), a.code, a.sent, a.error])]),
    [["OLD1", [[1000, "CONNECT_FAILED", false, "refused"], [2000, "AR", true, "no"]]], ["OLD2", []]],
  );
  const after = new Database(file, "normal");
  const [version, tables] = await after.exec([q("SELECT MAX(version) FROM outbox_schema_version"), q("SELECT name FROM sqlite_master WHERE name = 'outbox_attempts'")]);
  await after.close();
  assert.deepEqual(version.rows, [[2]]);
  assert.deepEqual(tables.rows, []);
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
