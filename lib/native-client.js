"use strict";
// MllpClient over the native addon, shared by the Node/Bun entry (index.js) and the Deno
// entry (deno.js): they differ only in how the addon is loaded.

const { toAck, toAckError, settle } = require("./ack-result.js");
const { convertError, errorFromReason, invalidInput } = require("./errors.js");
const { normalizeClientOptions, normalizeSendOptions, checkMessageType, withAbort } = require("./options.js");

/** A native Ack as the public Ack: resolved for AA/CA, thrown as an exception otherwise. */
const settleNative = (native) => settle(toAck(native));

function rethrow(error) {
  throw convertError(error);
}

/** Strings at least this long are encoded here (see `toWire`). */
const LARGE_TEXT = 64 * 1024;

/**
 * What crosses to Rust. napi reads Buffers; a plain Uint8Array is viewed as one without
 * copying. A large string (a base64 attachment, typically) is encoded here: Node's
 * `Buffer.from` is several times faster than napi's string conversion, and Rust then
 * writes those bytes to the socket without copying them again (issue 7). With
 * `encoding: "latin1"` only an all-ASCII string is (ASCII is the same bytes in both, and
 * `byteLength === length` holds exactly then): Rust must still refuse characters latin1
 * cannot encode.
 */
function toWire(message, encoding) {
  if (typeof message === "string") {
    if (message.length < LARGE_TEXT) return message;
    if (encoding === "utf8") return Buffer.from(message, "utf8");
    return Buffer.byteLength(message, "utf8") === message.length ? Buffer.from(message, "latin1") : message;
  }
  // A view whose ArrayBuffer was transferred has no bytes left to send (and a Buffer over
  // it cannot even be made): refuse it clearly rather than send nothing.
  if (message.byteLength === 0 && isDetached(message.buffer)) throw invalidInput("message is a view of a detached ArrayBuffer (transferred or structuredClone'd away)");
  if (Buffer.isBuffer(message)) return message;
  return Buffer.from(message.buffer, message.byteOffset, message.byteLength);
}

/** `ArrayBuffer.prototype.detached` where the runtime has it, else a zero-length probe. */
function isDetached(buffer) {
  if (typeof buffer.detached === "boolean") return buffer.detached;
  if (buffer.byteLength !== 0) return false;
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

/**
 * Whether Rust owns the bytes `toWire` returned: true for a Buffer made here from a string
 * (nobody else holds it, so it may be written without a copy); caller bytes are copied by
 * Rust during the call (contract: "Message bytes belong to the call").
 */
const isOwnWire = (message, wire) => typeof message === "string" && wire !== message;

function toNativeOptions(o, eventLoop) {
  const tls = o.tls === false ? undefined : {
    ca: o.tls.ca?.map((pem) => Buffer.from(pem)),
    cert: o.tls.cert === undefined ? undefined : Buffer.from(o.tls.cert),
    key: o.tls.key === undefined ? undefined : Buffer.from(o.tls.key),
    passphrase: o.tls.passphrase,
    servername: o.tls.servername,
    insecure: o.tls.insecure,
  };
  return {
    host: o.host,
    port: o.port,
    tls,
    connectTimeout: o.connectTimeout,
    ackTimeout: o.ackTimeout,
    encoding: o.encoding,
    maxFrameBytes: o.maxFrameBytes,
    verifyControlId: o.verifyControlId,
    pool: o.pool === false ? undefined : o.pool,
    eventLoop,
  };
}

/**
 * `eventLoop`: sends may run on the host's libuv loop. Only a request: Rust decides whether
 * the host really is Node with a loop it can use (src/binding/uv.rs), and otherwise runs
 * the client on tokio. JS may only turn the path off.
 */
function createClientClass(native, { eventLoop = false } = {}) {
  class MllpClient {
    #native;
    /** id -> { resolve, reject } of each send in flight; Rust settles them by id. */
    #pending = new Map();
    #nextId = 0;

    /** Validates options and builds the TLS configuration; opens nothing. */
    constructor(options) {
      const normalized = normalizeClientOptions(options);
      const pending = this.#pending;
      // Runs on the JS thread for every finished send, with the ACK's fields as arguments
      // (src/binding/settle.rs): the public Ack is built here, once.
      const onSettled = (id, reason, code, controlId, message, errorCode, severity, errors, raw) => {
        const send = pending.get(id);
        if (send === undefined) return;
        pending.delete(id);
        if (reason !== null) {
          send.reject(errorFromReason(reason) ?? new Error(reason));
          return;
        }
        try {
          send.resolve(settle({ code, controlId, message, errorCode, severity, errors: errors === null ? [] : errors.map(toAckError), raw }));
        } catch (error) {
          send.reject(error);
        }
      };
      try {
        this.#native = new native.NativeClient(toNativeOptions(normalized, eventLoop), onSettled);
      } catch (error) {
        throw convertError(error);
      }
      Object.defineProperty(this, "options", { value: Object.freeze({ ...normalized, tls: normalized.tls !== false }), enumerable: true });
    }

    /** One connection, one frame out, one ACK frame in. Never throws synchronously. */
    send(message, options) {
      let signal, ackTimeout;
      try {
        ({ signal, ackTimeout } = normalizeSendOptions(options));
        checkMessageType(message);
        if (signal?.aborted) return Promise.reject(signal.reason);
      } catch (error) {
        return Promise.reject(error);
      }
      let cancel;
      if (signal) cancel = new native.CancelHandle();
      const id = this.#nextId;
      this.#nextId = (id + 1) >>> 0;
      try {
        const wire = toWire(message, this.options.encoding);
        this.#native.send(id, wire, ackTimeout, cancel, isOwnWire(message, wire));
      } catch (error) {
        return Promise.reject(convertError(error));
      }
      const pending = new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
      return signal ? withAbort(pending, signal, () => cancel.cancel()) : pending;
    }

    /**
     * Close pooled connections (`pool` option); later sends reject with INVALID_INPUT.
     * Sends in flight finish first. Without a pool there is nothing to close.
     */
    async close() {
      this.#native.close();
    }

    /** ACK frames of one exchange, until the final one (enhanced mode: CA, then AA). */
    stream(message, options) {
      return this.#stream(message, options);
    }

    async *#stream(message, options) {
      const { signal, ackTimeout } = normalizeSendOptions(options);
      checkMessageType(message);
      signal?.throwIfAborted();
      let frames;
      try {
        const wire = toWire(message, this.options.encoding);
        frames = this.#native.stream(wire, ackTimeout, isOwnWire(message, wire));
      } catch (error) {
        throw convertError(error);
      }
      // Listens for the whole stream, not only while a next() is pending: an abort while the
      // consumer is busy between two frames closes the connection at once.
      const close = () => frames.close();
      signal?.addEventListener("abort", close, { once: true });
      try {
        for (;;) {
          const next = frames.next().then((a) => (a === null ? null : settleNative(a)), rethrow);
          const ack = await withAbort(next, signal, close);
          if (ack === null) return;
          yield ack;
          if (ack.code !== "CA") return;
        }
      } finally {
        signal?.removeEventListener("abort", close);
        frames.close();
      }
    }
  }
  return MllpClient;
}

module.exports = { createClientClass };
