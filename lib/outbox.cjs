"use strict";
// The Outbox (`@glion/mllp-client/outbox`): durable, ordered, at-least-once delivery over
// an MllpClient. The delivery rules live here, once, for every store; a store
// (lib/outbox-sqlite.cjs, lib/outbox-postgres.cjs) only keeps rows.
//
// Per queue exactly one deliverer sends, one message at a time, in enqueue order. Which
// process delivers is decided by a lease row in the store (holder, expiry), renewed every
// third of its length; a status change is written only while its writer holds the lease,
// so a deposed deliverer (a paused or partitioned process) cannot mark rows.

const crypto = require("node:crypto");
const os = require("node:os");
const { AckException } = require("@glion/ack");
const { MllpClientError, invalidInput } = require("./errors.cjs");

const DEFAULT_RETRY = Object.freeze({ initialDelay: 1000, maxDelay: 60_000, maxAttempts: Infinity });
const DEFAULT_ON_NAK = Object.freeze({ AE: "retry", AR: "dead", CE: "retry", CR: "dead" });
const OPEN_KEYS = new Set(["client", "store", "queue", "retry", "onNak"]);
const RETRY_KEYS = new Set(["initialDelay", "maxDelay", "maxAttempts"]);
const NAK_CODES = new Set(["AE", "AR", "CE", "CR"]);
/** The contract's ceiling on the lease; the default is half of it. */
const MAX_LEASE = 10_000;
const DEFAULT_LEASE = 5_000;
/** Messages read from the store per query. */
const BATCH = 64;
/** An idle deliverer looks for messages enqueued by other processes this often. */
const IDLE_POLL = { sqlite: 1000, postgres: 200 };
const MAX_MS = 2 ** 31 - 1;

const describe = (v) => (v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "string" ? JSON.stringify(v) : typeof v);
const isPlainObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

function checkKeys(object, allowed, where) {
  for (const key of Object.keys(object)) {
    if (!allowed.has(key)) throw invalidInput(`unknown Outbox option ${where}${key}; known: ${[...allowed].join(", ")}`);
  }
}

function delay(value, name) {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > MAX_MS) {
    throw invalidInput(`${name} must be a number of milliseconds from 0 to ${MAX_MS}, got ${describe(value)}`);
  }
  return value;
}

function retryOptions(retry = {}) {
  if (!isPlainObject(retry)) throw invalidInput(`retry must be an object, got ${describe(retry)}`);
  checkKeys(retry, RETRY_KEYS, "retry.");
  const out = { ...DEFAULT_RETRY, ...retry };
  delay(out.initialDelay, "retry.initialDelay");
  delay(out.maxDelay, "retry.maxDelay");
  if (out.maxDelay < out.initialDelay) throw invalidInput("retry.maxDelay must be at least retry.initialDelay");
  const m = out.maxAttempts;
  if (!(m === Infinity || (Number.isInteger(m) && m >= 1))) throw invalidInput(`retry.maxAttempts must be an integer >= 1 or Infinity, got ${describe(m)}`);
  return Object.freeze(out);
}

function onNakOptions(onNak = {}) {
  if (!isPlainObject(onNak)) throw invalidInput(`onNak must be an object, got ${describe(onNak)}`);
  checkKeys(onNak, NAK_CODES, "onNak.");
  const out = { ...DEFAULT_ON_NAK, ...onNak };
  for (const code of NAK_CODES) {
    if (out[code] !== "retry" && out[code] !== "dead") throw invalidInput(`onNak.${code} must be "retry" or "dead", got ${describe(out[code])}`);
  }
  return Object.freeze(out);
}

/**
 * `sqlite:<path>[?synchronous=normal|full]` or `postgres://...[?lease=MS]` (also
 * `postgresql://`). `lease` (1..10000 ms) is ours and is not passed to the server.
 */
function parseStore(store) {
  if (typeof store !== "string" || store === "") throw invalidInput(`store must be "sqlite:<path>" or "postgres://...", got ${describe(store)}`);
  if (store.startsWith("sqlite:")) {
    const [path, query = ""] = store.slice("sqlite:".length).split("?", 2);
    const params = new URLSearchParams(query);
    for (const key of params.keys()) if (key !== "synchronous") throw invalidInput(`unknown sqlite store parameter ${key}; known: synchronous`);
    const synchronous = (params.get("synchronous") ?? "normal").toLowerCase();
    if (synchronous !== "normal" && synchronous !== "full") throw invalidInput(`synchronous must be normal or full, got ${JSON.stringify(synchronous)}`);
    if (path === "" || path === ":memory:") throw invalidInput("a sqlite store needs a file path (sqlite:./outbox.db): the outbox must be durable");
    return { kind: "sqlite", path, synchronous, lease: DEFAULT_LEASE };
  }
  if (/^postgres(ql)?:\/\//.test(store)) {
    let url;
    try {
      url = new URL(store);
    } catch {
      throw invalidInput("store is not a valid postgres:// URL");
    }
    let lease = DEFAULT_LEASE;
    if (url.searchParams.has("lease")) {
      lease = Number(url.searchParams.get("lease"));
      if (!Number.isInteger(lease) || lease < 1 || lease > MAX_LEASE) throw invalidInput(`lease must be 1..${MAX_LEASE} ms`);
      url.searchParams.delete("lease");
    }
    return { kind: "postgres", url: url.toString(), lease };
  }
  throw invalidInput(`store must be "sqlite:<path>" or "postgres://...", got ${describe(store)}`);
}

async function openStore(spec) {
  if (spec.kind === "sqlite") return require("./outbox-sqlite.cjs").SqliteStore.open(spec.path, { synchronous: spec.synchronous });
  return require("./outbox-postgres.cjs").PostgresStore.open(spec.url);
}

/** A message as the store keeps it: the bytes exactly as given, or a string's UTF-8. */
function toStored(message) {
  if (typeof message === "string") return { payload: Buffer.from(message, "utf8"), isText: true };
  if (message instanceof Uint8Array) return { payload: Buffer.from(message), isText: false };
  throw invalidInput(`message must be a string or a Uint8Array, got ${describe(message)}`);
}

/** MSH-10 (for dead letters and logs); undefined when the message has none. */
function controlIdOf(payload) {
  const head = payload.subarray(0, Math.min(payload.length, 4096)).toString("latin1");
  if (!/^(MSH|FHS|BHS)/.test(head)) throw invalidInput("message must begin with MSH (or FHS/BHS for a batch)");
  const segment = head.split(/\r\n|\r|\n/, 1)[0];
  return segment.split(segment[3])[9] || undefined;
}

/** For people reading the lease table; Deno without --allow-sys may not tell it. */
function hostName() {
  try {
    return os.hostname();
  } catch {
    return "unknown-host";
  }
}

/** Full jitter: uniform in [0, min(maxDelay, initialDelay * 2^(attempt-1))]. */
function backoff(retry, attempt) {
  const ceiling = Math.min(retry.maxDelay, retry.initialDelay * 2 ** Math.min(attempt - 1, 52));
  return Math.random() * ceiling;
}

class Outbox {
  #client;
  #store;
  #queue;
  #retry;
  #onNak;
  #lease;
  #holder = `${hostName()}:${process.pid}:${crypto.randomUUID()}`;
  /** Local clock time until which our lease is surely valid (taken before the query ran). */
  #leaseUntil = 0;
  /** `pending` here is the store's (the message in flight included); stats() subtracts it. */
  #counts = { pending: 0, inFlight: 0, delivered: 0, dead: 0 };
  /** Bumped by every local change, so a count read from the store before it is discarded. */
  #changes = 0;
  /** Enqueues and requeues under way: a count read meanwhile may or may not include them. */
  #writing = 0;
  #batch = [];
  #closed = false;
  #loop;
  #abort = new AbortController();
  #sleepers = new Set();
  #drains = [];
  #idlePoll;
  /** True while a send runs (#startRenewing). */
  #sending = false;
  #renewTimer;

  constructor(key, { client, store, spec, queue, retry, onNak }) {
    if (key !== OPEN) throw new TypeError("use Outbox.open()");
    this.#client = client;
    this.#store = store;
    this.#queue = queue;
    this.#retry = retry;
    this.#onNak = onNak;
    this.#lease = spec.lease;
    this.#idlePoll = IDLE_POLL[spec.kind];
  }

  /** Opens (creating the schema if needed) and starts delivering in the background. */
  static async open(options) {
    if (!isPlainObject(options)) throw invalidInput(`Outbox.open options must be an object, got ${describe(options)}`);
    checkKeys(options, OPEN_KEYS, "");
    const { client, queue = "default" } = options;
    if (!client || typeof client.send !== "function" || !client.options) throw invalidInput("client must be an MllpClient");
    if (typeof queue !== "string" || queue === "" || queue.length > 200) throw invalidInput(`queue must be a non-empty string of at most 200 characters, got ${describe(queue)}`);
    const retry = retryOptions(options.retry);
    const onNak = onNakOptions(options.onNak);
    const spec = parseStore(options.store);
    const store = await openStore(spec);
    const outbox = new Outbox(OPEN, { client, store, spec, queue, retry, onNak });
    try {
      Object.assign(outbox.#counts, await store.counts(queue));
    } catch (error) {
      await store.close();
      throw error;
    }
    outbox.#startRenewing();
    outbox.#loop = outbox.#run();
    return outbox;
  }

  /** Resolves with the message's id once it is stored durably. */
  async enqueue(message) {
    if (this.#closed) throw invalidInput("the outbox is closed");
    const { payload, isText } = toStored(message);
    const controlId = controlIdOf(payload);
    if (payload.includes(0x0b) || payload.includes(0x1c)) throw invalidInput("message must not contain the MLLP block bytes 0x0B or 0x1C");
    this.#writing++;
    let id;
    try {
      id = await this.#store.enqueue(this.#queue, payload, isText, controlId);
    } finally {
      this.#writing--;
    }
    this.#changes++;
    this.#counts.pending++;
    this.#wakeUp();
    return { id };
  }

  /** Resolves when nothing of this queue is pending or in flight; rejects if the outbox closes first. */
  drain() {
    if (this.#closed) return Promise.reject(invalidInput("the outbox is closed"));
    return new Promise((resolve, reject) => {
      this.#drains.push({ resolve, reject });
      this.#checkDrains();
    });
  }

  /** `{ pending, inFlight, delivered, dead }` for this queue, kept in step with the store. */
  stats() {
    const c = this.#counts;
    return { pending: Math.max(0, c.pending - c.inFlight), inFlight: c.inFlight, delivered: c.delivered, dead: c.dead };
  }

  /** Dead letters of this queue, oldest first, each with every attempt's outcome. */
  dead() {
    if (this.#closed) return Promise.reject(invalidInput("the outbox is closed"));
    return this.#store.dead(this.#queue);
  }

  /** A dead letter back to the end of the queue (with a fresh attempt budget). */
  async requeue(id) {
    if (this.#closed) throw invalidInput("the outbox is closed");
    if (!Number.isSafeInteger(id) || id < 1) throw invalidInput(`id must be a message id (a positive integer), got ${describe(id)}`);
    this.#writing++;
    let requeued;
    try {
      requeued = await this.#store.requeue(this.#queue, id);
    } finally {
      this.#writing--;
    }
    if (!requeued) throw invalidInput(`message ${id} is not a dead letter of queue ${JSON.stringify(this.#queue)}`);
    this.#changes++;
    this.#counts.dead--;
    this.#counts.pending++;
    this.#wakeUp();
  }

  /**
   * Stops delivering (a send in flight is aborted at once: it stays pending and is sent
   * again by the next open, so its receiver may see it twice), releases the lease, closes
   * the store. The messages stay stored.
   */
  async close() {
    if (this.#closed) return this.#closing;
    this.#closed = true;
    this.#abort.abort(invalidInput("the outbox is closed"));
    this.#wakeUp();
    this.#closing = (async () => {
      await this.#loop;
      clearInterval(this.#renewTimer);
      for (const d of this.#drains.splice(0)) d.reject(invalidInput("the outbox was closed before it drained"));
      await this.#store.release(this.#queue, this.#holder).catch(() => {});
      await this.#store.close();
    })();
    return this.#closing;
  }

  #closing;

  // --- the delivery loop -------------------------------------------------------------

  async #run() {
    while (!this.#closed) {
      try {
        await this.#step();
      } catch {
        // A store failure (a PostgreSQL server restarting, a locked SQLite file): drop what
        // we read, wait, and start over from the store.
        this.#batch = [];
        this.#leaseUntil = 0;
        await this.#sleep(Math.min(this.#retry.maxDelay, Math.max(this.#retry.initialDelay, 100)), true);
      }
    }
  }

  async #step() {
    if (!(await this.#holdLease())) {
      // Another process delivers: look again within retry.initialDelay (the takeover bound
      // is that plus the lease), and keep the counts fresh meanwhile.
      await this.#refreshCounts();
      await this.#sleep(Math.min(this.#retry.initialDelay || 100, this.#lease / 2), true);
      return;
    }
    if (this.#batch.length === 0) {
      this.#batch = await this.#store.pending(this.#queue, BATCH);
      if (this.#batch.length === 0) {
        await this.#refreshCounts();
        // Unref'd unless someone awaits drain(): an idle outbox does not hold the process.
        await this.#sleep(this.#idlePoll, true, this.#drains.length === 0);
        return;
      }
    }
    const message = this.#batch[0];
    if (message.notBefore > Date.now()) {
      await this.#sleep(message.notBefore - Date.now(), false);
      return;
    }
    if (!this.#leaseSafe()) return; // renew first: never start a send on a lease about to lapse
    await this.#attempt(message);
  }

  /** Take or renew the lease when a third of it has passed; true while we hold it. */
  async #holdLease() {
    const now = Date.now();
    if (this.#leaseUntil - now > (this.#lease * 2) / 3) return true;
    const held = await this.#store.lease(this.#queue, this.#holder, this.#lease);
    if (held) this.#leaseUntil = now + this.#lease;
    else {
      if (this.#leaseUntil > 0) this.#batch = [];
      this.#leaseUntil = 0;
    }
    return held;
  }

  #leaseSafe() {
    return this.#leaseUntil - Date.now() > this.#lease / 3;
  }

  async #attempt(message) {
    const counts = this.#counts;
    counts.inFlight = 1;
    this.#changes++;
    const at = Date.now();
    let status, attempt;
    this.#sending = true;
    try {
      const ack = await this.#client.send(message.isText ? message.payload.toString("utf8") : message.payload, { signal: this.#abort.signal });
      status = "delivered";
      attempt = { at, code: ack.code, sent: true, error: null };
    } catch (error) {
      ({ status, attempt } = this.#failure(error, at, message.attempts + 1));
    } finally {
      this.#sending = false;
    }
    const settled = await this.#settle(message, status, attempt);
    counts.inFlight = 0;
    this.#changes++;
    if (!settled || status === "pending") {
      if (!settled) this.#batch = [];
      else {
        message.attempts++;
        message.notBefore = this.#closed ? 0 : Date.now() + backoff(this.#retry, message.attempts);
      }
    } else {
      this.#batch.shift();
      counts.pending = Math.max(0, counts.pending - 1);
      counts[status]++;
    }
    this.#checkDrains();
  }

  /** What a failed send means: retry (the message stays the head) or dead. */
  #failure(error, at, attemptNumber) {
    let attempt, action;
    if (this.#closed && this.#abort.signal.aborted && error === this.#abort.signal.reason) {
      return { status: "pending", attempt: { at, code: "CLOSED", sent: null, error: "the outbox was closed during the attempt" } };
    }
    if (error instanceof AckException) {
      attempt = { at, code: error.code, sent: true, error: error.message };
      action = this.#onNak[error.code] ?? "dead";
    } else if (error instanceof MllpClientError) {
      attempt = { at, code: error.code, sent: error.sent, error: error.message };
      // INVALID_INPUT will never succeed (a message the client refuses): dead at once.
      action = error.code === "INVALID_INPUT" ? "dead" : "retry";
    } else {
      attempt = { at, code: "ERROR", sent: null, error: String(error && error.message ? error.message : error) };
      action = "retry";
    }
    if (action === "retry" && attemptNumber >= this.#retry.maxAttempts) {
      attempt.error = `${attempt.error} (retry.maxAttempts ${this.#retry.maxAttempts} reached)`;
      action = "dead";
    }
    return { status: action === "dead" ? "dead" : "pending", attempt };
  }

  /** Record the outcome; a store error is retried (bounded by close) so no ACK is forgotten. */
  async #settle(message, status, attempt) {
    for (let tries = 1; ; tries++) {
      try {
        return await this.#store.settle(this.#queue, this.#holder, message.id, status, attempt);
      } catch {
        if (this.#closed) return false;
        await this.#sleep(Math.min(this.#retry.maxDelay, 50 * 2 ** Math.min(tries, 10)), true);
      }
    }
  }

  /**
   * A send can outlast the lease (ackTimeout 30 s): renew while one runs. One timer for the
   * outbox's life rather than one per send (a timer per message cost the delivery loop
   * measurably, bench/outbox.js); unref'd, as the send itself holds the process.
   */
  #startRenewing() {
    this.#renewTimer = setInterval(() => {
      if (this.#sending) this.#holdLease().catch(() => {});
    }, this.#lease / 3);
    this.#renewTimer.unref?.();
  }

  async #refreshCounts() {
    if (this.#writing > 0) return;
    const before = this.#changes;
    const counts = await this.#store.counts(this.#queue);
    if (before !== this.#changes || this.#writing > 0) return;
    const c = this.#counts;
    c.pending = counts.pending;
    c.delivered = counts.delivered;
    c.dead = counts.dead;
    this.#checkDrains();
  }

  #checkDrains() {
    if (this.#counts.pending !== 0 || this.#counts.inFlight !== 0) return;
    for (const d of this.#drains.splice(0)) d.resolve();
  }

  /**
   * Wait `ms` (bounded), or less when woken by enqueue/requeue (`wakeable`) or by close.
   * `unref`: an idle outbox does not keep the process alive.
   */
  #sleep(ms, wakeable, unref = false) {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const sleeper = { wakeable, done: null };
      const timer = setTimeout(() => sleeper.done(), Math.max(0, Math.min(ms, MAX_MS)));
      if (unref) timer.unref?.();
      sleeper.done = () => {
        clearTimeout(timer);
        this.#sleepers.delete(sleeper);
        resolve();
      };
      this.#sleepers.add(sleeper);
    });
  }

  /** Ends the wakeable sleeps (all of them once closed). */
  #wakeUp() {
    for (const sleeper of [...this.#sleepers]) if (sleeper.wakeable || this.#closed) sleeper.done();
  }
}

const OPEN = Symbol("Outbox.open");

module.exports = { Outbox, parseStore, openStore, DEFAULT_RETRY, DEFAULT_ON_NAK, backoff };
