"use strict";
// The Outbox's PostgreSQL store (`postgres://...`): the same store interface as
// lib/outbox-sqlite.cjs, over npm `pg` (pure JS: no second native artifact to ship).
// Several processes may open one queue; the lease row decides which one delivers, and
// every status change is fenced by it (lib/outbox.cjs).

const SCHEMA_VERSION = 1;

// Version 1. Message times are milliseconds since the epoch written by the client; lease
// times are the server's clock (now()), so clock skew between instances cannot hand a
// queue to two deliverers.
const SCHEMA = [
  "CREATE SEQUENCE IF NOT EXISTS outbox_seq",
  `CREATE TABLE IF NOT EXISTS outbox_messages (
     id BIGSERIAL PRIMARY KEY,
     queue TEXT NOT NULL,
     seq BIGINT NOT NULL DEFAULT nextval('outbox_seq'),
     status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
     payload BYTEA NOT NULL,
     is_text BOOLEAN NOT NULL,
     control_id TEXT,
     enqueued_at BIGINT NOT NULL,
     attempt_count INTEGER NOT NULL DEFAULT 0,
     settled_at BIGINT,
     code TEXT,
     reason TEXT)`,
  "CREATE INDEX IF NOT EXISTS outbox_messages_next ON outbox_messages (queue, status, seq)",
  `CREATE TABLE IF NOT EXISTS outbox_attempts (
     id BIGSERIAL PRIMARY KEY,
     message_id BIGINT NOT NULL REFERENCES outbox_messages (id),
     at BIGINT NOT NULL,
     code TEXT,
     sent BOOLEAN,
     error TEXT)`,
  "CREATE INDEX IF NOT EXISTS outbox_attempts_message ON outbox_attempts (message_id)",
  `CREATE TABLE IF NOT EXISTS outbox_leases (
     queue TEXT PRIMARY KEY,
     holder TEXT NOT NULL,
     expires_at TIMESTAMPTZ NOT NULL)`,
];

/** Every query ends within this (a server that stops answering must not stall delivery). */
const QUERY_TIMEOUT = 10_000;
const id = (v) => Number(v);

class PostgresStore {
  kind = "postgres";
  #pool;

  constructor(pool) {
    this.#pool = pool;
  }

  static async open(url) {
    let pg;
    try {
      pg = require("pg");
    } catch (error) {
      throw new Error(`a postgres:// store needs the npm package pg (npm install pg): ${error.message}`);
    }
    const pool = new pg.Pool({ connectionString: url, max: 3, connectionTimeoutMillis: QUERY_TIMEOUT, query_timeout: QUERY_TIMEOUT, idleTimeoutMillis: 10_000, allowExitOnIdle: true });
    pool.on("error", () => {}); // an idle connection dropped by the server: the next query reconnects
    const store = new PostgresStore(pool);
    try {
      await store.#migrate();
    } catch (error) {
      await pool.end();
      throw error;
    }
    return store;
  }

  /** Schema changes under an advisory transaction lock: several instances may open at once. */
  async #migrate() {
    await this.#transaction(async (c) => {
      await c.query("SELECT pg_advisory_xact_lock(hashtext('glion_outbox_schema'))");
      await c.query("CREATE TABLE IF NOT EXISTS outbox_schema_version (version INTEGER NOT NULL)");
      const current = (await c.query("SELECT MAX(version) AS v FROM outbox_schema_version")).rows[0].v;
      if (current !== null && current > SCHEMA_VERSION) {
        throw new Error(`the PostgreSQL store has schema version ${current}, newer than this client's ${SCHEMA_VERSION}: upgrade @glion/mllp-client`);
      }
      if (current === SCHEMA_VERSION) return;
      for (const statement of SCHEMA) await c.query(statement);
      await c.query("INSERT INTO outbox_schema_version (version) VALUES ($1)", [SCHEMA_VERSION]);
    });
  }

  async #transaction(body) {
    const client = await this.#pool.connect();
    try {
      await client.query("BEGIN");
      const result = await body(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * Group commit, as the SQLite writer does: enqueues that arrive while one INSERT runs go
   * together in the next one, so concurrent enqueues share a transaction (one WAL flush)
   * and keep their call order (a pool would commit them in any order).
   */
  enqueue(queue, payload, isText, controlId) {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ queue, payload, isText, controlId: controlId ?? null, resolve, reject });
      if (!this.#inserting) this.#flush();
    });
  }

  #waiting = [];
  #inserting = false;

  async #flush() {
    this.#inserting = true;
    while (this.#waiting.length) {
      const batch = this.#waiting.splice(0, 1000);
      try {
        const ids = await this.#insert(batch);
        for (const [i, e] of batch.entries()) e.resolve(ids[i]);
      } catch (error) {
        for (const e of batch) e.reject(error);
      }
    }
    this.#inserting = false;
  }

  /** Sequence numbers are drawn first and given out in call order. */
  async #insert(batch) {
    const seqs = (await this.#pool.query("SELECT nextval('outbox_seq') AS s FROM generate_series(1, $1::int)", [batch.length])).rows.map((r) => BigInt(r.s));
    seqs.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const { rows } = await this.#pool.query(
      `INSERT INTO outbox_messages (queue, seq, status, payload, is_text, control_id, enqueued_at)
       SELECT q, s, 'pending', p, t, c, $6 FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::bool[], $5::text[]) AS m(q, s, p, t, c)
       RETURNING id, seq`,
      [batch.map((e) => e.queue), seqs.map(String), batch.map((e) => e.payload), batch.map((e) => e.isText), batch.map((e) => e.controlId), Date.now()],
    );
    const idBySeq = new Map(rows.map((r) => [String(r.seq), id(r.id)]));
    return seqs.map((s) => idBySeq.get(String(s)));
  }

  async pending(queue, limit) {
    const { rows } = await this.#pool.query(
      "SELECT id, payload, is_text, control_id, attempt_count FROM outbox_messages WHERE queue = $1 AND status = 'pending' ORDER BY seq LIMIT $2",
      [queue, limit],
    );
    return rows.map((r) => ({ id: id(r.id), payload: r.payload, isText: r.is_text, controlId: r.control_id, attempts: r.attempt_count }));
  }

  /**
   * The lease row is locked (FOR UPDATE) for the transaction: a takeover waits until this
   * commits, and a deposed holder finds no row and changes nothing.
   */
  async settle(queue, holder, messageId, status, attempt) {
    return this.#transaction(async (c) => {
      const held = await c.query("SELECT 1 FROM outbox_leases WHERE queue = $1 AND holder = $2 AND expires_at > now() FOR UPDATE", [queue, holder]);
      if (held.rowCount !== 1) return false;
      const updated = await c.query(
        `UPDATE outbox_messages SET status = $3, attempt_count = attempt_count + 1, code = $4, reason = $5,
           settled_at = CASE WHEN $3 = 'pending' THEN NULL ELSE $6::bigint END
         WHERE id = $2 AND queue = $1 AND status = 'pending'`,
        [queue, messageId, status, attempt.code, attempt.error, Date.now()],
      );
      if (updated.rowCount !== 1) return false;
      await c.query("INSERT INTO outbox_attempts (message_id, at, code, sent, error) VALUES ($1, $2, $3, $4, $5)", [messageId, attempt.at, attempt.code, attempt.sent, attempt.error]);
      return true;
    });
  }

  async counts(queue) {
    const { rows } = await this.#pool.query("SELECT status, COUNT(*)::int AS n FROM outbox_messages WHERE queue = $1 GROUP BY status", [queue]);
    const counts = { pending: 0, delivered: 0, dead: 0 };
    for (const r of rows) counts[r.status] = r.n;
    return counts;
  }

  async dead(queue) {
    const messages = await this.#pool.query("SELECT id, control_id, code, reason FROM outbox_messages WHERE queue = $1 AND status = 'dead' ORDER BY seq", [queue]);
    const attempts = await this.#pool.query(
      `SELECT a.message_id, a.at, a.code, a.sent, a.error FROM outbox_attempts a JOIN outbox_messages m ON m.id = a.message_id
       WHERE m.queue = $1 AND m.status = 'dead' ORDER BY a.id`,
      [queue],
    );
    const byId = new Map(messages.rows.map((r) => [id(r.id), { id: id(r.id), controlId: r.control_id, code: r.code, reason: r.reason, attempts: [] }]));
    for (const a of attempts.rows) byId.get(id(a.message_id))?.attempts.push({ at: new Date(Number(a.at)), code: a.code, sent: a.sent, error: a.error });
    return [...byId.values()];
  }

  async requeue(queue, messageId) {
    const { rowCount } = await this.#pool.query(
      "UPDATE outbox_messages SET status = 'pending', attempt_count = 0, settled_at = NULL, seq = nextval('outbox_seq') WHERE id = $2 AND queue = $1 AND status = 'dead'",
      [queue, messageId],
    );
    return rowCount === 1;
  }

  async lease(queue, holder, ms) {
    const { rowCount } = await this.#pool.query(
      `INSERT INTO outbox_leases (queue, holder, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
       ON CONFLICT (queue) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE outbox_leases.holder = excluded.holder OR outbox_leases.expires_at <= now()`,
      [queue, holder, ms],
    );
    return rowCount === 1;
  }

  async release(queue, holder) {
    await this.#pool.query("DELETE FROM outbox_leases WHERE queue = $1 AND holder = $2", [queue, holder]);
  }

  close() {
    return this.#pool.end();
  }
}

module.exports = { PostgresStore, SCHEMA_VERSION };
