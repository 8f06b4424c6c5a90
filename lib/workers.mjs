// `@glion/mllp-client/workers`: Cloudflare Workers, pure JS over `cloudflare:sockets`.
//
// Same API and behaviour as the Node entry (index.cjs + lib/native-client.cjs): one connection
// per call, `connectTimeout` for TCP + TLS, `ackTimeout` from the start of the write, the same
// `MllpClientError` codes and the same `@glion/ack` exception classes. Framing, message checks
// and ACK parsing come from `@glion/ack` (`@glion/ack/wire`), option checks from lib/options.cjs.
// Nothing here (or in what it imports) uses a Node.js built-in.
//
// What differs from Node: the Workers runtime verifies the server certificate itself against
// its own public trust store and the host name; it cannot take a CA, a client certificate, a
// key, a passphrase, a server name or `insecure`, so those throw INVALID_INPUT at construction;
// and a socket cannot outlive its request, so `pool` (other than false) is INVALID_INPUT too.
// Character sets: every name decodes (workerd's TextDecoder knows every WHATWG encoding);
// strings are encoded here in UTF-8, UTF-16 and every single-byte charset, but not in the
// multi-byte legacy ones (Shift_JIS, EUC-JP, ISO-2022-JP, GBK, gb18030, Big5, EUC-KR): such
// an `encoding` is INVALID_INPUT at construction, and under "auto" a string whose MSH-18
// names one is INVALID_INPUT before any socket (bytes already in that charset are sent).

import { connect } from "cloudflare:sockets";
import { parseAck } from "@glion/ack";
import { FrameDecoder, encodeFrame, prepareMessage, resolveEncoding, canEncode, canDecode, ackCharset, decodeBytes } from "@glion/ack/wire";
// CommonJS modules (one definition of each, shared with the other entries).
import errors from "./errors.cjs";
import options from "./options.cjs";
import ackResult from "./ack-result.cjs";
import diagnostics from "./diagnostics.cjs";

export * from "@glion/ack";

const { MllpClientError } = errors;
const { normalizeClientOptions, normalizeSendOptions, checkMessageType, withAbort } = options;
const { toAck, settle } = ackResult;
// Workers with nodejs_compat have node:diagnostics_channel; without it, nothing is published.
const tracer = new diagnostics.SendTracer();

export { MllpClientError };
export { Outbox } from "./workers-outbox.mjs";

/** `tls` keys that carry programmatic TLS material: the Workers runtime cannot use any. */
const TLS_MATERIAL = ["ca", "cert", "key", "passphrase", "servername", "insecure"];

const noop = () => {};
const isPlainObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

// workerd reports most socket failures with generic texts; TLS is recognised by its words.
const TLS_WORDS = /\btls\b|\bssl\b|certificate|handshake/i;
const reasonOf = (error) => (error && typeof error.message === "string" ? error.message : String(error));
const isTlsFailure = (error) => TLS_WORDS.test(reasonOf(error));

/** Throw INVALID_INPUT when `tls` is an object carrying TLS material (before any socket). */
function rejectTlsMaterial(options) {
  if (!isPlainObject(options) || !isPlainObject(options.tls)) return;
  const given = TLS_MATERIAL.filter((name) => options.tls[name] !== undefined);
  if (given.length === 0) return;
  throw new MllpClientError(
    `the Cloudflare Workers runtime cannot honour programmatic TLS material (${given.map((n) => `tls.${n}`).join(", ")} given): ` +
      "cloudflare:sockets verifies the server against the runtime's own trust store and the host name, " +
      "with no way to pass a CA, client certificate, key, passphrase, server name or insecure mode; " +
      "use tls: true (the default), tls: {} or tls: false",
    { code: "INVALID_INPUT", sent: false },
  );
}

/**
 * Throw INVALID_INPUT for a connection pool: a Workers socket belongs to the request that
 * opened it and cannot be kept for later requests, so every call opens its own connection.
 */
function rejectPool(options) {
  if (!isPlainObject(options) || options.pool === undefined || options.pool === false) return;
  throw new MllpClientError(
    "the Cloudflare Workers runtime cannot keep connections between requests (a socket belongs to the request " +
      "that opened it), so pool is not available: every send() opens its own connection; omit pool or use pool: false",
    { code: "INVALID_INPUT", sent: false },
  );
}

/** INVALID_INPUT at construction for a charset this runtime cannot convert (see the top). */
function checkCharset(encoding) {
  const charset = resolveEncoding(encoding);
  if (charset === "auto" || (canEncode(charset) && canDecode(charset))) return;
  throw new MllpClientError(
    `encoding ${JSON.stringify(encoding)} (${charset}) cannot be used on Cloudflare Workers: only UTF-8, UTF-16 and the single-byte ` +
      "charsets are encoded here; use the Node.js, Bun or Deno entry for Shift_JIS, EUC-JP, ISO-2022-JP, GBK, gb18030, Big5 and EUC-KR",
    { code: "INVALID_INPUT", sent: false },
  );
}

/** The message as wire bytes, control id and charset; a bad message is INVALID_INPUT. */
function prepare(message, encoding) {
  try {
    return prepareMessage(message, encoding);
  } catch (error) {
    if (error && error.code === "INVALID_INPUT") {
      throw new MllpClientError(error.message, { code: "INVALID_INPUT", sent: false });
    }
    throw error;
  }
}

/** A one-shot timer whose expiry rejects `promise` (marked handled) with `onExpire()`'s error. */
class Timer {
  constructor(ms, onExpire) {
    this.expired = false;
    this.error = undefined;
    this.promise = new Promise((_, reject) => {
      this.id = setTimeout(() => {
        this.id = undefined;
        this.expired = true;
        this.error = onExpire();
        reject(this.error);
      }, ms);
    });
    this.promise.catch(noop);
  }

  clear() {
    if (this.id !== undefined) clearTimeout(this.id);
    this.id = undefined;
  }
}

/** One exchange: connect, write one frame, read ACK frames; `close()` is idempotent. */
class Exchange {
  #settings;
  #prepared;
  #ackTimeout;
  #socket = null;
  #reader = null;
  #decoder;
  #frames = []; // frames decoded but not yet handed out
  #failure = null; // an error to raise once #frames is empty (framing error, EOF)
  #timer = null; // the running connect or ACK timer
  #closed = null; // the reason the exchange was closed, once it was
  #whenClosed; // rejects with that reason: every await races it, so none outlives close()
  #rejectClosed;
  sent = false;

  constructor(settings, prepared, ackTimeout) {
    this.#settings = settings;
    this.#prepared = prepared;
    this.#ackTimeout = ackTimeout;
    this.#decoder = new FrameDecoder({ maxFrameBytes: settings.maxFrameBytes });
    this.#whenClosed = new Promise((_, reject) => {
      this.#rejectClosed = reject;
    });
    this.#whenClosed.catch(noop);
  }

  /**
   * `promise`, unless the running timer expires or the exchange is closed first (those come
   * first, so they win even against a `promise` that is already settled).
   */
  #race(promise) {
    return Promise.race([this.#whenClosed, this.#timer.promise, promise]);
  }

  #error(code, message, cause) {
    return new MllpClientError(message, { code, sent: this.sent, cause });
  }

  #where() {
    return `${this.#settings.host}:${this.#settings.port}`;
  }

  /** Throw when the exchange was closed while an await was pending (abort, timer). */
  #checkOpen() {
    if (this.#closed) throw this.#closed;
  }

  /** A timer that closes the exchange at once when it expires. */
  #startTimer(ms, makeError) {
    this.#timer?.clear();
    const timer = new Timer(ms, () => {
      const error = makeError();
      this.close(error);
      return error;
    });
    this.#timer = timer;
    return timer;
  }

  #ackTimeoutText() {
    return `ackTimeout (${this.#ackTimeout} ms)`;
  }

  /** Connect (TCP + TLS within connectTimeout), then write the frame (within ackTimeout). */
  async open() {
    const { host, port, tls, connectTimeout } = this.#settings;
    try {
      this.#socket = connect({ hostname: host, port }, { secureTransport: tls ? "on" : "off", allowHalfOpen: false });
    } catch (cause) {
      throw this.#connectError(cause);
    }
    this.#socket.closed.then(noop, noop);
    const connectTimer = this.#startTimer(connectTimeout, () =>
      this.#error(
        "TIMEOUT",
        `connecting to ${this.#where()}${tls ? " (TCP + TLS handshake)" : ""} took longer than connectTimeout (${connectTimeout} ms)`,
      ),
    );
    try {
      await this.#race(this.#socket.opened);
    } catch (cause) {
      throw cause instanceof MllpClientError ? cause : this.#connectError(cause);
    } finally {
      connectTimer.clear();
    }
    this.#checkOpen();

    // ackTimeout runs from the start of the write: a receiver that never reads cannot hold
    // the client, and the same deadline then covers the first ACK frame.
    this.#startTimer(this.#ackTimeout, () =>
      this.sent
        ? this.#error("TIMEOUT", `no complete ACK frame within ${this.#ackTimeoutText()}`)
        : this.#error("TIMEOUT", `the receiver did not take the whole message within ${this.#ackTimeoutText()}`),
    );
    const writer = this.#socket.writable.getWriter();
    try {
      await this.#race(writer.write(encodeFrame(this.#prepared.bytes)));
    } catch (cause) {
      if (cause instanceof MllpClientError) throw cause;
      this.#checkOpen();
      throw isTlsFailure(cause)
        ? this.#error("TLS_ERROR", `TLS error while writing the message: ${reasonOf(cause)}`, cause)
        : this.#error("CONNECTION_CLOSED", `connection lost while writing the message: ${reasonOf(cause)}`, cause);
    }
    this.#checkOpen();
    this.sent = true;
    try {
      writer.releaseLock();
    } catch {
      // the write settled; nothing is pending
    }
    this.#reader = this.#socket.readable.getReader();
  }

  #connectError(cause) {
    const reason = reasonOf(cause);
    if (this.#settings.tls && isTlsFailure(cause)) {
      return this.#error("TLS_ERROR", `TLS handshake with ${this.#where()} failed: ${reason}`, cause);
    }
    return this.#error("CONNECTION_REFUSED", `cannot connect to ${this.#where()}: ${reason}`, cause);
  }

  /** The next whole frame within the running ACK timer. */
  async #nextFrame() {
    for (;;) {
      if (this.#frames.length > 0) return this.#frames.shift();
      if (this.#timer?.expired) throw this.#timer.error;
      if (this.#failure) throw this.#failure;
      this.#checkOpen();
      let chunk;
      try {
        chunk = await this.#race(this.#reader.read());
      } catch (cause) {
        if (cause instanceof MllpClientError) throw cause;
        this.#checkOpen();
        throw isTlsFailure(cause)
          ? this.#error("TLS_ERROR", `TLS error while reading: ${reasonOf(cause)}`, cause)
          : this.#error("CONNECTION_CLOSED", `connection lost while reading: ${reasonOf(cause)}`, cause);
      }
      this.#checkOpen();
      if (chunk.done) {
        this.#endOfStream();
        continue;
      }
      const value = chunk.value;
      const bytes = value instanceof Uint8Array ? value : new Uint8Array(value);
      try {
        this.#frames.push(...this.#decoder.push(bytes));
      } catch (cause) {
        // Frames completed before the bad byte are still answered, the error comes after.
        if (Array.isArray(cause?.frames)) this.#frames.push(...cause.frames);
        this.#failure = this.#error("MALFORMED_FRAME", reasonOf(cause), cause);
      }
    }
  }

  /** End of stream: a frame missing only its final CR is accepted, anything else fails. */
  #endOfStream() {
    try {
      const last = this.#decoder.end();
      if (last !== null) this.#frames.push(last);
      this.#failure = this.#error("CONNECTION_CLOSED", "the receiver closed the connection before sending an ACK frame");
    } catch (cause) {
      this.#failure = cause?.code === "MALFORMED_FRAME"
        ? this.#error("MALFORMED_FRAME", reasonOf(cause), cause)
        : this.#error("CONNECTION_CLOSED", reasonOf(cause), cause);
    }
  }

  /**
   * The next ACK frame parsed and checked (any MSA-1 code; the caller throws NAKs). After a
   * `CA` the next frame gets a fresh ackTimeout, counted from the CA's arrival.
   */
  async next() {
    const frame = await this.#nextFrame();
    this.#timer.clear();
    let parsed;
    try {
      const charset = ackCharset(frame, resolveEncoding(this.#settings.encoding), this.#prepared.charset);
      parsed = toAck(parseAck(decodeBytes(frame, charset)));
    } catch (cause) {
      throw this.#error("MALFORMED_ACK", `not a parsable ACK: ${reasonOf(cause)}`, cause);
    }
    this.#checkControlId(parsed);
    if (parsed.code === "CA") {
      this.#startTimer(this.#ackTimeout, () => this.#error("TIMEOUT", `no complete ACK frame within ${this.#ackTimeoutText()}`));
    }
    return parsed;
  }

  #checkControlId(parsed) {
    const expected = this.#prepared.controlId;
    if (!this.#settings.verifyControlId || expected === null) return;
    const want = expected.trim();
    const got = parsed.controlId.trim();
    // A receiver that rejects a message it could not parse may leave MSA-2 empty; the NAK
    // itself is then the more useful answer.
    const positive = parsed.code === "AA" || parsed.code === "CA";
    if (got === want || (got === "" && !positive)) return;
    throw this.#error(
      "MALFORMED_ACK",
      `ACK control id (MSA-2) ${JSON.stringify(got)} does not match the message control id (MSH-10) ${JSON.stringify(want)}`,
    );
  }

  /** Close the socket at once and clear the timer; later awaits throw `reason`. */
  close(reason) {
    if (this.#closed) return;
    this.#closed = reason ?? this.#error("CONNECTION_CLOSED", "the connection was closed");
    this.#timer?.clear();
    this.#rejectClosed(this.#closed);
    const socket = this.#socket;
    if (socket) {
      try {
        socket.close().then(noop, noop);
      } catch {
        // already closed
      }
    }
  }
}

export class MllpClient {
  #settings;

  /** Validates options (INVALID_INPUT, synchronously); opens nothing. */
  constructor(options) {
    // Checked first: with TLS material the Workers rule is the answer, whatever else the
    // tls object holds (e.g. tls.cert without tls.key).
    rejectTlsMaterial(options);
    rejectPool(options);
    const normalized = normalizeClientOptions(options);
    checkCharset(normalized.encoding);
    this.#settings = Object.freeze({ ...normalized, tls: normalized.tls !== false });
    Object.defineProperty(this, "options", { value: this.#settings, enumerable: true });
  }

  /** The diagnostics context of a call (only for a subscriber); never message content. */
  #traceContext(prepared) {
    const { host, port, tls } = this.#settings;
    return { host, port, tls, controlId: prepared?.controlId ?? undefined, bytes: prepared?.bytes.length, pooled: false };
  }

  #prepareQuietly(message) {
    try {
      return prepare(message, this.#settings.encoding);
    } catch {
      return undefined; // the call itself reports it
    }
  }

  /** One connection, one frame out, one ACK frame in. Never throws synchronously. */
  send(message, options) {
    if (!tracer.active) return this.#send(message, options);
    return tracer.traceSend(this.#traceContext(this.#prepareQuietly(message)), () => this.#send(message, options));
  }

  #send(message, options) {
    let signal, ackTimeout, prepared;
    try {
      ({ signal, ackTimeout } = normalizeSendOptions(options));
      checkMessageType(message);
      if (signal?.aborted) return Promise.reject(signal.reason);
      prepared = prepare(message, this.#settings.encoding);
    } catch (error) {
      return Promise.reject(error);
    }
    const exchange = new Exchange(this.#settings, prepared, ackTimeout ?? this.#settings.ackTimeout);
    const pending = (async () => {
      try {
        await exchange.open();
        return settle(await exchange.next());
      } finally {
        exchange.close();
      }
    })();
    return signal ? withAbort(pending, signal, () => exchange.close()) : pending;
  }

  /**
   * The Node entry's close() ends pooled connections; here there is no pool (every call
   * closes its own connection), so there is nothing to close, as on Node without a pool.
   */
  async close() {}

  /** ACK frames of one exchange, until the final one (enhanced mode: CA, then AA). */
  stream(message, options) {
    if (!tracer.active) return this.#stream(message, options);
    return tracer.traceStream(this.#traceContext(this.#prepareQuietly(message)), this.#stream(message, options));
  }

  async *#stream(message, options) {
    const { signal, ackTimeout } = normalizeSendOptions(options);
    checkMessageType(message);
    signal?.throwIfAborted();
    const prepared = prepare(message, this.#settings.encoding);
    const exchange = new Exchange(this.#settings, prepared, ackTimeout ?? this.#settings.ackTimeout);
    const onAbort = () => exchange.close();
    try {
      await withAbort(exchange.open(), signal, onAbort);
      for (;;) {
        const result = settle(await withAbort(exchange.next(), signal, onAbort));
        yield result;
        if (result.code !== "CA") return;
      }
    } finally {
      exchange.close();
    }
  }
}
