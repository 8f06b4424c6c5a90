"use strict";
// The Outbox's SQLite store (`sqlite:<path>`): the SQL of the store interface that
// lib/outbox.cjs drives. The database runs inside the native addon (rusqlite with its
// bundled SQLite, src/store/sqlite.rs): one writer thread, WAL, group commit.

const SCHEMA_VERSION = 2;

// Version 2 (version 1 kept the attempts in a table of their own, outbox_attempts; an open
// moves them into the message row, see UPGRADE). Times are milliseconds since the epoch
// (this process's clock: a SQLite store is shared only by processes on one machine).
// `attempts` is every attempt's outcome, oldest first, as a JSON array of
// [at, code, sent (1, 0 or null), error]: in the message row, so that settling a message is
// one UPDATE of one row (a second table and its index cost a third of the delivery loop's
// time in bench/outbox.js).
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS outbox_messages (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     queue TEXT NOT NULL,
     seq INTEGER NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
     payload BLOB NOT NULL,
     is_text INTEGER NOT NULL,
     control_id TEXT,
     enqueued_at INTEGER NOT NULL,
     attempt_count INTEGER NOT NULL DEFAULT 0,
     settled_at INTEGER,
     code TEXT,
     reason TEXT,
     attempts TEXT NOT NULL DEFAULT '[]')`,
  "CREATE INDEX IF NOT EXISTS outbox_messages_next ON outbox_messages (queue, status, seq)",
  "CREATE INDEX IF NOT EXISTS outbox_messages_seq ON outbox_messages (seq)",
  `CREATE TABLE IF NOT EXISTS outbox_leases (
     queue TEXT PRIMARY KEY,
     holder TEXT NOT NULL,
     expires_at INTEGER NOT NULL)`,
];

/** From version 1: each message's rows of outbox_attempts into its `attempts`, in order. */
const UPGRADE = {
  1: [
    "ALTER TABLE outbox_messages ADD COLUMN attempts TEXT NOT NULL DEFAULT '[]'",
    `UPDATE outbox_messages SET attempts = (
       SELECT json_group_array(json_array(at, code, sent, error))
       FROM (SELECT at, code, sent, error FROM outbox_attempts a WHERE a.message_id = outbox_messages.id ORDER BY a.rowid))
     WHERE id IN (SELECT message_id FROM outbox_attempts)`,
    "DROP TABLE outbox_attempts",
  ],
};

const LEASE_HELD = "EXISTS (SELECT 1 FROM outbox_leases WHERE queue = ?1 AND holder = ?2 AND expires_at > ?3)";
const sql = (text, ...params) => ({ sql: text, params });
const toBool = (v) => (v === null ? null : v === 1);

/**
 * The native store with a Promise per command. Its callback is weak (an open store alone
 * does not keep the process alive); a timer holds the event loop while a command is
 * pending, so an awaited enqueue always settles.
 */
class Database {
  #native;
  #pending = new Map();
  #nextId = 0;
  #keepAlive = null;

  constructor(path, synchronous) {
    const native = require("./addon.cjs").loadAddon();
    this.#native = native.NativeSqliteStore.open(path, synchronous, (done) => this.#settle(done));
  }

  /**
   * `here`: run on this thread when the native side says it is cheap (synchronous=NORMAL,
   * writer idle); the delivery loop's one-at-a-time commands. Enqueues go to the writer
   * thread, where concurrent ones share a commit.
   */
  exec(statements, here = false) {
    if (here) {
      try {
        const results = this.#native.execHere(statements);
        if (results !== null) return Promise.resolve(results);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const id = this.#nextId;
    this.#nextId = (id + 1) >>> 0;
    const promise = new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    if (this.#keepAlive === null) this.#keepAlive = setInterval(() => {}, 1 << 30);
    this.#native.exec(id, statements);
    return promise;
  }

  #settle({ id, error, results }) {
    const waiter = this.#pending.get(id);
    if (!waiter) return;
    this.#pending.delete(id);
    if (this.#pending.size === 0) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = null;
    }
    if (error != null) waiter.reject(new Error(error));
    else waiter.resolve(results);
  }

  close() {
    return this.#native.close();
  }
}

class SqliteStore {
  kind = "sqlite";
  #db;

  constructor(db) {
    this.#db = db;
  }

  /** `path`: a file path (":memory:" is refused: the outbox must be durable). */
  static async open(path, { synchronous = "normal" } = {}) {
    const store = new SqliteStore(new Database(path, synchronous));
    try {
      await store.#migrate();
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  async #migrate() {
    const [, version] = await this.#db.exec([
      sql("CREATE TABLE IF NOT EXISTS outbox_schema_version (version INTEGER NOT NULL)"),
      sql("SELECT MAX(version) FROM outbox_schema_version"),
    ]);
    const current = version.rows[0][0];
    if (current !== null && current > SCHEMA_VERSION) {
      throw new Error(`the SQLite store has schema version ${current}, newer than this client's ${SCHEMA_VERSION}: upgrade @glion/mllp-client`);
    }
    if (current === SCHEMA_VERSION) return;
    const steps = current === null ? SCHEMA : UPGRADE[current];
    await this.#db.exec([...steps.map((s) => sql(s)), sql("INSERT INTO outbox_schema_version (version) VALUES (?1)", SCHEMA_VERSION)]);
  }

  async enqueue(queue, payload, isText, controlId) {
    const [result] = await this.#db.exec([
      sql(
        `INSERT INTO outbox_messages (queue, seq, status, payload, is_text, control_id, enqueued_at)
         VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM outbox_messages), 'pending', ?2, ?3, ?4, ?5)`,
        queue, payload, isText ? 1 : 0, controlId ?? null, Date.now(),
      ),
    ]);
    return result.lastInsertRowid;
  }

  /** Up to `limit` pending messages of `queue`, in order. */
  async pending(queue, limit) {
    const [result] = await this.#db.exec([
      sql("SELECT id, payload, is_text, control_id, attempt_count FROM outbox_messages WHERE queue = ?1 AND status = 'pending' ORDER BY seq LIMIT ?2", queue, limit),
    ], true);
    return result.rows.map(([id, payload, isText, controlId, attempts]) => ({ id, payload, isText: isText === 1, controlId, attempts }));
  }

  /**
   * Record one attempt and the message's new status, only while `holder` holds the queue's
   * lease (a deposed deliverer cannot mark rows). False when fenced out.
   */
  async settle(queue, holder, id, status, attempt) {
    const now = Date.now();
    const [update] = await this.#db.exec([
      sql(
        `UPDATE outbox_messages SET status = ?5, attempt_count = attempt_count + 1, code = ?6, reason = ?7,
           settled_at = CASE WHEN ?5 = 'pending' THEN NULL ELSE ?3 END,
           attempts = json_insert(attempts, '$[#]', json_array(?8, ?6, ?9, ?7))
         WHERE id = ?4 AND queue = ?1 AND status = 'pending' AND ${LEASE_HELD}`,
        queue, holder, now, id, status, attempt.code, attempt.error, attempt.at, attempt.sent === null ? null : attempt.sent ? 1 : 0,
      ),
    ], true);
    return update.changes === 1;
  }

  async counts(queue) {
    const [result] = await this.#db.exec([sql("SELECT status, COUNT(*) FROM outbox_messages WHERE queue = ?1 GROUP BY status", queue)]);
    const counts = { pending: 0, delivered: 0, dead: 0 };
    for (const [status, n] of result.rows) counts[status] = n;
    return counts;
  }

  async dead(queue) {
    const [messages] = await this.#db.exec([
      sql("SELECT id, control_id, code, reason, attempts FROM outbox_messages WHERE queue = ?1 AND status = 'dead' ORDER BY seq", queue),
    ]);
    return messages.rows.map(([id, controlId, code, reason, attempts]) => ({
      id,
      controlId,
      code,
      reason,
      attempts: JSON.parse(attempts).map(([at, attemptCode, sent, error]) => ({ at: new Date(at), code: attemptCode, sent: toBool(sent), error })),
    }));
  }

  /** A dead letter back to the end of its queue, with a fresh attempt budget. */
  async requeue(queue, id) {
    const [result] = await this.#db.exec([
      sql(
        `UPDATE outbox_messages SET status = 'pending', attempt_count = 0, settled_at = NULL,
           seq = (SELECT MAX(seq) + 1 FROM outbox_messages)
         WHERE id = ?2 AND queue = ?1 AND status = 'dead'`,
        queue, id,
      ),
    ]);
    return result.changes === 1;
  }

  /** Take or renew the queue's lease for `ms`; true when `holder` holds it now. */
  async lease(queue, holder, ms) {
    const now = Date.now();
    const [result] = await this.#db.exec([
      sql(
        `INSERT INTO outbox_leases (queue, holder, expires_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (queue) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE outbox_leases.holder = excluded.holder OR outbox_leases.expires_at <= ?4`,
        queue, holder, now + ms, now,
      ),
    ], true);
    return result.changes === 1;
  }

  async release(queue, holder) {
    await this.#db.exec([sql("DELETE FROM outbox_leases WHERE queue = ?1 AND holder = ?2", queue, holder)]);
  }

  close() {
    return this.#db.close();
  }
}

module.exports = { SqliteStore, Database, SCHEMA_VERSION };
