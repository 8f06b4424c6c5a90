"use strict";
// Option checks shared by every entry. A bad option throws INVALID_INPUT synchronously from
// the constructor; a bad per-call option rejects that call. Nothing here opens a socket.

const { invalidInput } = require("./errors.cjs");
const { resolveEncoding, isUint8Array, isDetached } = require("@glion/ack/wire");

const DEFAULTS = Object.freeze({
  tls: true,
  connectTimeout: 10_000,
  ackTimeout: 30_000,
  encoding: "utf8",
  maxFrameBytes: 1024 * 1024,
  verifyControlId: true,
});

// Timers are u32 milliseconds in the core; 2^31-1 is also setTimeout's ceiling.
const MAX_MS = 2 ** 31 - 1;
const CLIENT_KEYS = new Set(["host", "port", "tls", "connectTimeout", "ackTimeout", "encoding", "maxFrameBytes", "verifyControlId", "pool"]);
const POOL_KEYS = new Set(["max", "idleTimeout"]);
const POOL_DEFAULTS = Object.freeze({ max: 8, idleTimeout: 30_000 });
const TLS_KEYS = new Set(["ca", "cert", "key", "passphrase", "servername", "insecure"]);
const SEND_KEYS = new Set(["signal", "ackTimeout"]);

const isPlainObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const isBytes = isUint8Array;
const describe = (v) => (v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "string" ? JSON.stringify(v) : typeof v);

function checkKeys(object, allowed, where) {
  for (const key of Object.keys(object)) {
    if (allowed.has(key)) continue;
    const hint = key === "rejectUnauthorized" ? " (use tls.insecure: true, tests only)" : key === "timeout" ? " (use connectTimeout or ackTimeout)" : "";
    throw invalidInput(`unknown option ${where}${key}${hint}; known: ${[...allowed].join(", ")}`);
  }
}

function milliseconds(value, name) {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > MAX_MS) {
    throw invalidInput(`${name} must be a number of milliseconds from 1 to ${MAX_MS}, got ${describe(value)}`);
  }
  return Math.ceil(value);
}

/** A Uint8Array from any realm; a detached one (its buffer transferred) is INVALID_INPUT. */
function usableBytes(value, name) {
  if (isDetached(value)) throw invalidInput(`${name} is a Uint8Array whose buffer was detached (transferred with postMessage or structuredClone)`);
  return value;
}

function pem(value, name) {
  if (typeof value === "string") return value;
  if (isBytes(value)) return usableBytes(value, name);
  throw invalidInput(`${name} must be a PEM string or a Uint8Array, got ${describe(value)}`);
}

function tlsOptions(tls) {
  if (tls === undefined || tls === true) return {};
  if (tls === false) return false;
  if (!isPlainObject(tls)) throw invalidInput(`tls must be true, false or an object, got ${describe(tls)}`);
  checkKeys(tls, TLS_KEYS, "tls.");
  const out = {};
  if (tls.ca !== undefined) {
    const list = Array.isArray(tls.ca) ? tls.ca : [tls.ca];
    if (list.length === 0) throw invalidInput("tls.ca must not be an empty array");
    out.ca = list.map((item, i) => pem(item, Array.isArray(tls.ca) ? `tls.ca[${i}]` : "tls.ca"));
  }
  if (tls.cert !== undefined) out.cert = pem(tls.cert, "tls.cert");
  if (tls.key !== undefined) out.key = pem(tls.key, "tls.key");
  for (const name of ["passphrase", "servername"]) {
    if (tls[name] === undefined) continue;
    if (typeof tls[name] !== "string" || tls[name] === "") throw invalidInput(`tls.${name} must be a non-empty string`);
    out[name] = tls[name];
  }
  if (tls.insecure !== undefined) {
    if (typeof tls.insecure !== "boolean") throw invalidInput("tls.insecure must be a boolean");
    out.insecure = tls.insecure;
  }
  if ((out.cert === undefined) !== (out.key === undefined)) {
    throw invalidInput(out.cert === undefined ? "tls.key is given without tls.cert" : "tls.cert is given without tls.key");
  }
  return out;
}

/** Validate constructor options; returns them with every default filled in. */
function normalizeClientOptions(options) {
  if (!isPlainObject(options)) throw invalidInput(`MllpClient options must be an object, got ${describe(options)}`);
  checkKeys(options, CLIENT_KEYS, "");
  const { host, port } = options;
  if (typeof host !== "string" || host.trim() === "") throw invalidInput(`host must be a non-empty string, got ${describe(host)}`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalidInput(`port must be an integer from 1 to 65535, got ${describe(port)}`);
  const out = { host, port, tls: tlsOptions(options.tls) };
  out.connectTimeout = options.connectTimeout === undefined ? DEFAULTS.connectTimeout : milliseconds(options.connectTimeout, "connectTimeout");
  out.ackTimeout = options.ackTimeout === undefined ? DEFAULTS.ackTimeout : milliseconds(options.ackTimeout, "ackTimeout");
  const encoding = options.encoding === undefined ? DEFAULTS.encoding : options.encoding;
  if (typeof encoding !== "string") throw invalidInput(`encoding must be a string, got ${describe(encoding)}`);
  try {
    resolveEncoding(encoding); // the label table shared with @glion/ack (ack/charsets.cjs)
  } catch (error) {
    throw invalidInput(`encoding: ${error.message}`);
  }
  out.encoding = encoding;
  const max = options.maxFrameBytes === undefined ? DEFAULTS.maxFrameBytes : options.maxFrameBytes;
  if (!Number.isInteger(max) || max < 1 || max > 2 ** 32 - 1) throw invalidInput(`maxFrameBytes must be an integer from 1 to ${2 ** 32 - 1}, got ${describe(max)}`);
  out.maxFrameBytes = max;
  const verify = options.verifyControlId === undefined ? DEFAULTS.verifyControlId : options.verifyControlId;
  if (typeof verify !== "boolean") throw invalidInput(`verifyControlId must be a boolean, got ${describe(verify)}`);
  out.verifyControlId = verify;
  out.pool = poolOptions(options.pool);
  return out;
}

/** `pool` is opt-in: absent or false means one connection per send, as the spec says. */
function poolOptions(pool) {
  if (pool === undefined || pool === false) return false;
  if (pool === true) return { ...POOL_DEFAULTS };
  if (!isPlainObject(pool)) throw invalidInput(`pool must be true, false or { max, idleTimeout }, got ${describe(pool)}`);
  checkKeys(pool, POOL_KEYS, "pool.");
  const max = pool.max === undefined ? POOL_DEFAULTS.max : pool.max;
  if (!Number.isInteger(max) || max < 1 || max > 65535) throw invalidInput(`pool.max must be an integer from 1 to 65535, got ${describe(max)}`);
  const idleTimeout = pool.idleTimeout === undefined ? POOL_DEFAULTS.idleTimeout : milliseconds(pool.idleTimeout, "pool.idleTimeout");
  return { max, idleTimeout };
}

/** What withAbort uses of a signal: an AbortSignal from any realm, or a look-alike. */
function isAbortSignalLike(signal) {
  return (
    signal !== null &&
    typeof signal === "object" &&
    typeof signal.aborted === "boolean" &&
    typeof signal.addEventListener === "function" &&
    typeof signal.removeEventListener === "function"
  );
}

/** Validate per-call options (`send()`/`stream()`). */
function normalizeSendOptions(options) {
  if (options === undefined || options === null) return { signal: undefined, ackTimeout: undefined };
  if (!isPlainObject(options)) throw invalidInput(`send options must be an object, got ${describe(options)}`);
  checkKeys(options, SEND_KEYS, "");
  const { signal } = options;
  if (signal !== undefined && !isAbortSignalLike(signal)) {
    throw invalidInput(`signal must be an AbortSignal (or have aborted, addEventListener and removeEventListener), got ${describe(signal)}`);
  }
  const ackTimeout = options.ackTimeout === undefined ? undefined : milliseconds(options.ackTimeout, "ackTimeout");
  return { signal, ackTimeout };
}

/** The message must be text or bytes; its content is checked by the core. */
function checkMessageType(message) {
  if (typeof message === "string") return message;
  if (isBytes(message)) return usableBytes(message, "message");
  throw invalidInput(`message must be a string or a Uint8Array, got ${describe(message)}`);
}

/**
 * Settle `promise`, or reject with the signal's reason as soon as it aborts (calling
 * `onAbort` first so the connection closes at once).
 */
function withAbort(promise, signal, onAbort) {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const abort = () => {
      onAbort();
      reject(signal.reason);
    };
    promise.then(
      (value) => {
        signal.removeEventListener("abort", abort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", abort);
        reject(error);
      },
    );
    if (signal.aborted) abort();
    else signal.addEventListener("abort", abort, { once: true });
  });
}

module.exports = { DEFAULTS, POOL_DEFAULTS, normalizeClientOptions, normalizeSendOptions, checkMessageType, withAbort };
