"use strict";
// MllpClient over the native addon: the class behind the Node, Bun and Deno entry
// (index.cjs), and the bench's builds of other addons.

const { toAck, toAckError, settle } = require("./ack-result.cjs");
const { convertError, errorFromReason } = require("./errors.cjs");
const { normalizeClientOptions, normalizeSendOptions, checkMessageType, withAbort } = require("./options.cjs");
const { SendTracer } = require("./diagnostics.cjs");

// Required here rather than looked up: Node before 20.16 has no process.getBuiltinModule.
const tracer = new SendTracer(require("node:diagnostics_channel"));

/** A native Ack as the public Ack: resolved for AA/CA, thrown as an exception otherwise. */
const settleNative = (native) => settle(toAck(native));

function rethrow(error) {
  throw convertError(error);
}

/**
 * What crosses to Rust: a string as it is (Rust writes it once, as UTF-8, into the frame
 * buffer: src/binding/client.rs `utf8_frame`), bytes as a Buffer (napi reads Buffers; a
 * plain Uint8Array is viewed as one without copying), which Rust copies during the call.
 */
function toWire(message) {
  if (typeof message === "string" || Buffer.isBuffer(message)) return message;
  // A detached view was refused by checkMessageType (lib/options.cjs).
  return Buffer.from(message.buffer, message.byteOffset, message.byteLength);
}

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

    /** The diagnostics context of a call (built only for a subscriber; never content). */
    #traceContext(message) {
      const { host, port, tls, pool, encoding } = this.options;
      let facts = null;
      try {
        if (typeof message === "string" || message instanceof Uint8Array) {
          facts = native.describeMessage(typeof message === "string" ? message : toWire(message), encoding);
        }
      } catch {
        // a message the send itself will refuse (INVALID_INPUT): no facts to report
      }
      return { host, port, tls, controlId: facts?.controlId ?? undefined, bytes: facts?.bytes, pooled: pool !== false };
    }

    /** One connection, one frame out, one ACK frame in. Never throws synchronously. */
    send(message, options) {
      if (!tracer.active) return this.#send(message, options);
      return tracer.traceSend(this.#traceContext(message), () => this.#send(message, options));
    }

    #send(message, options) {
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
        this.#native.send(id, toWire(message), ackTimeout, cancel);
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
      if (!tracer.active) return this.#stream(message, options);
      return tracer.traceStream(this.#traceContext(message), this.#stream(message, options));
    }

    async *#stream(message, options) {
      const { signal, ackTimeout } = normalizeSendOptions(options);
      checkMessageType(message);
      signal?.throwIfAborted();
      let frames;
      try {
        frames = this.#native.stream(toWire(message), ackTimeout);
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
