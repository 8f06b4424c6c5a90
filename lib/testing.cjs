// @ts-self-types="./testing.d.ts"
"use strict";
// `@glion/mllp-client/testing`: a real MLLP receiver for demos and tests. The transport
// (listening, framing, TLS) is the Rust core's; what to answer is decided here, and every
// ACK is built by `@glion/ack`'s buildAck.

const native = require("./addon.cjs").loadAddon();
const ack = require("@glion/ack");
const { MllpClientError, invalidInput, convertError } = require("./errors.cjs");
const { resolveEncoding } = require("@glion/ack/wire");

const { AckException, buildAck } = ack;
const KEYS = new Set(["host", "port", "tls", "mode", "reply", "delay", "encoding", "maxFrameBytes", "onAnswered"]);
const SEGMENT_END = /\r\n|\r|\n/;

/**
 * The message's charset (`encoding`, or with "auto" its MSH-18, UTF-8 when none or unusable)
 * and its text, by the Rust core's tables (src/charset.rs), as the client reads them.
 */
function decode(bytes, encoding) {
  const charset = native.messageCharset(bytes, encoding);
  return { charset, text: native.charsetDecode(bytes, charset) };
}

/** The reply in the message's charset; one it cannot encode becomes an AE that says so. */
function encodeReply(text, charset, message) {
  try {
    return native.charsetEncode(text, charset);
  } catch {
    return native.charsetEncode(buildReply(message, { code: "AE", text: `test receiver: the reply cannot be encoded in ${charset}` }), "ascii");
  }
}

/** MSH-n of the first segment (MSH-1 is the separator itself). */
function headerField(text, n) {
  const header = text.split(/\r\n|\r|\n/, 1)[0];
  if (!/^(MSH|FHS|BHS)./.test(header)) return undefined;
  return header.split(header[3])[n - 1] || undefined;
}

/** Turn what `reply` returned into something buildAck takes. */
function toAckChoice(choice) {
  if (choice === undefined || choice === null) return { code: "AA" };
  if (typeof choice === "string") return { code: choice };
  if (choice instanceof AckException) return { code: choice.code, exception: choice };
  if (typeof choice === "object" && typeof choice.code === "string") {
    const { code, text, errorCode, severity } = choice;
    if (["AA", "CA"].includes(code) || errorCode === undefined) return { code, text };
    return { code, exception: new AckException(text, { code, errorCode, severity }) };
  }
  throw new TypeError("reply must return an ACK code, { code, text?, errorCode?, severity? }, or an AckException");
}

function buildReply(message, choice) {
  if (/^(FHS|BHS)/.test(message)) return buildBatchReply(message, choice);
  try {
    return buildAck(message, choice.exception ?? choice.code, { text: choice.text });
  } catch {
    // Not an MSH message (garbage): still answer, as a receiver must.
    return fallbackAck(choice);
  }
}

function fallbackAck(choice) {
  const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
  return `MSH|^~\\&|||||${stamp}||ACK|ACK${stamp}|P|2.5\rMSA|${choice.code}||${choice.text ?? ""}`;
}

/**
 * A batch is answered with a batch of ACKs (`[FHS] BHS { MSH MSA [ERR] } BTS [FTS]`, the
 * contract's "Batches"): one ACK per message, each with the choice made for the batch.
 */
function buildBatchReply(batch, choice) {
  const segments = batch.split(SEGMENT_END).filter(Boolean);
  const sep = segments[0][3];
  const messages = [];
  let current;
  for (const segment of segments) {
    if (segment.startsWith("MSH")) messages.push((current = [segment]));
    else if (/^(FHS|BHS|BTS|FTS)/.test(segment)) current = undefined;
    else if (current) current.push(segment);
  }
  if (messages.length === 0) return fallbackAck(choice);
  const header = (name) => segments.find((s) => s.startsWith(name))?.split(sep).slice(0, 2).join(sep) ?? `${name}${sep}^~\\&`;
  const file = segments[0].startsWith("FHS");
  const out = [];
  if (file) out.push(header("FHS"));
  out.push(header("BHS"));
  for (const message of messages) out.push(buildAck(message.join("\r"), choice.exception ?? choice.code, { text: choice.text }));
  out.push(`BTS${sep}${messages.length}`);
  if (file) out.push(`FTS${sep}1`);
  return out.join("\r");
}

/**
 * Start a test receiver. Resolves once it listens.
 * @param {import("./testing.cjs").TestReceiverOptions} [options]
 */
async function startTestReceiver(options = {}) {
  if (options === null || typeof options !== "object") throw invalidInput("startTestReceiver options must be an object");
  for (const key of Object.keys(options)) {
    if (!KEYS.has(key)) throw invalidInput(`unknown startTestReceiver option ${key}; known: ${[...KEYS].join(", ")}`);
  }
  const { host = "127.0.0.1", port = 0, tls, mode = "original", reply, delay = 0, encoding = "auto", maxFrameBytes = 64 * 1024 * 1024, onAnswered } = options;
  if (mode !== "original" && mode !== "enhanced") throw invalidInput(`mode must be "original" or "enhanced", got ${JSON.stringify(mode)}`);
  if (reply !== undefined && typeof reply !== "function") throw invalidInput("reply must be a function");
  if (onAnswered !== undefined && typeof onAnswered !== "function") throw invalidInput("onAnswered must be a function");
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalidInput("port must be an integer from 0 to 65535");
  if (typeof delay !== "number" || !(delay >= 0)) throw invalidInput("delay must be a number of milliseconds >= 0");
  try {
    resolveEncoding(encoding);
  } catch (error) {
    throw invalidInput(`encoding: ${error.message}`);
  }
  let nativeTls;
  if (tls !== undefined && tls !== false) {
    if (!tls || typeof tls !== "object" || tls.cert === undefined || tls.key === undefined) {
      throw invalidInput("tls must be { cert, key, ca?, requestCert? } (PEM)");
    }
    nativeTls = {
      cert: Buffer.from(tls.cert),
      key: Buffer.from(tls.key),
      ca: tls.ca === undefined ? undefined : Buffer.from(tls.ca),
      requestCert: tls.requestCert === true,
    };
  }

  const received = [];
  const waiters = [];
  const timers = new Set();
  let server;
  let closed = false;

  const later = (ms, fn) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  async function onMessage(event) {
    const { charset, text: message } = decode(event.message, encoding);
    const entry = {
      message,
      charset,
      controlId: headerField(message, 10),
      messageType: headerField(message, 9),
      connection: event.connection,
      peer: event.peer,
      receivedAt: new Date(),
      ackCode: undefined,
      acks: [],
      answered: [],
      clientLeft: false,
      done: false,
    };
    received.push(entry);
    let choice;
    try {
      choice = toAckChoice(reply ? await reply(message, { connection: event.connection, peer: event.peer, index: received.length - 1 }) : undefined);
    } catch (error) {
      choice = { code: "AE", text: `test receiver reply() failed: ${error && error.message}` };
    }
    entry.ackCode = choice.code;
    /** Write one ACK; false when the client has left (nothing was written). */
    const write = (text, code) => {
      if (closed) return false;
      if (entry.clientLeft || !server.write(event.connection, encodeReply(text, charset, message))) {
        entry.clientLeft = true;
        return false;
      }
      entry.acks.push(text);
      entry.answered.push(code);
      return true;
    };
    const finish = () => {
      write(buildReply(message, choice), choice.code);
      entry.done = true;
      for (const w of waiters.splice(0)) w.check();
      if (onAnswered) onAnswered(entry);
    };
    if (mode === "enhanced") {
      write(buildReply(message, { code: "CA" }), "CA");
      if (delay > 0) later(delay, finish);
      else finish();
    } else if (delay > 0) later(delay, finish);
    else finish();
    for (const w of waiters.splice(0)) w.check();
  }

  try {
    server = await native.NativeReceiver.start(
      { host, port, tls: nativeTls, maxFrameBytes },
      (event) => {
        if (event.kind === "message") onMessage(event);
      },
    );
  } catch (error) {
    throw convertError(error);
  }

  return {
    host: server.host,
    port: server.port,
    mode,
    received,
    /** Resolves once `count` messages have been received (and answered). */
    waitFor(count, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`waitFor(${count}): only ${received.length} received`)), timeoutMs);
        const w = {
          check() {
            if (received.length >= count) {
              clearTimeout(timer);
              resolve(received.slice(0, count));
            } else waiters.push(w);
          },
        };
        w.check();
      });
    },
    /** Stop listening and close every connection. */
    async close() {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.close();
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

module.exports = { ...ack, startTestReceiver, MllpClient: require("../index.cjs").MllpClient, MllpClientError };
