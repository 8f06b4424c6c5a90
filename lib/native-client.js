"use strict";
// MllpClient over the native addon, shared by the Node/Bun entry (index.js) and the Deno
// entry (deno.js): they differ only in how the addon is loaded.

const { toAck, settle } = require("./ack-result.js");
const { convertError } = require("./errors.js");
const { normalizeClientOptions, normalizeSendOptions, checkMessageType, withAbort } = require("./options.js");

/** A native Ack as the public Ack: resolved for AA/CA, thrown as an exception otherwise. */
const settleNative = (native) => settle(toAck(native));

function rethrow(error) {
  throw convertError(error);
}

/** napi reads Buffers; a plain Uint8Array is viewed as one without copying. */
function toWire(message) {
  if (typeof message === "string" || Buffer.isBuffer(message)) return message;
  return Buffer.from(message.buffer, message.byteOffset, message.byteLength);
}

function toNativeOptions(o) {
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
  };
}

function createClientClass(native) {
  class MllpClient {
    #native;

    /** Validates options and builds the TLS configuration; opens nothing. */
    constructor(options) {
      const normalized = normalizeClientOptions(options);
      try {
        this.#native = new native.NativeClient(toNativeOptions(normalized));
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
      let pending;
      try {
        pending = this.#native.send(toWire(message), ackTimeout, cancel);
      } catch (error) {
        return Promise.reject(convertError(error));
      }
      pending = pending.then(settleNative, rethrow);
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
        frames = this.#native.stream(toWire(message), ackTimeout);
      } catch (error) {
        throw convertError(error);
      }
      try {
        for (;;) {
          const next = frames.next().then((a) => (a === null ? null : settleNative(a)), rethrow);
          const ack = await withAbort(next, signal, () => frames.close());
          if (ack === null) return;
          yield ack;
          if (ack.code !== "CA") return;
        }
      } finally {
        frames.close();
      }
    }
  }
  return MllpClient;
}

module.exports = { createClientClass };
