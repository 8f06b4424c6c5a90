"use strict";
// The one definition of MllpClientError, shared by every entry (node, deno, workers,
// testing) and by import and require() alike, so `instanceof` always works.

const CODES = Object.freeze([
  "INVALID_INPUT",
  "CONNECTION_REFUSED",
  "TIMEOUT",
  "CONNECTION_CLOSED",
  "MALFORMED_FRAME",
  "MALFORMED_ACK",
  "TLS_ERROR",
]);

class MllpClientError extends Error {
  /**
   * @param {string} message
   * @param {{ code: string, sent?: boolean, cause?: unknown }} fields
   */
  constructor(message, { code, sent = false, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "MllpClientError";
    this.code = code;
    this.sent = sent;
  }
}

/** Thrown before any socket opens: bad options or a bad message. */
function invalidInput(message) {
  return new MllpClientError(message, { code: "INVALID_INPUT", sent: false });
}

/**
 * The error a JSON reason `{kind, code, sent, message}` from Rust stands for, or null when
 * the text is not such a reason.
 */
function errorFromReason(text) {
  if (typeof text !== "string" || text.charCodeAt(0) !== 123 /* { */) return null;
  let reason;
  try {
    reason = JSON.parse(text);
  } catch {
    return null;
  }
  if (!reason || reason.kind !== "MllpClientError") return null;
  return new MllpClientError(reason.message, { code: reason.code, sent: reason.sent === true });
}

/**
 * Rebuild the real class from an error that crossed the napi boundary (its message is the
 * JSON reason); anything else is passed through untouched.
 */
function convertError(error) {
  return errorFromReason(error && error.message) ?? error;
}

module.exports = { MllpClientError, CODES, invalidInput, convertError, errorFromReason };
