"use strict";
// What every entry does with a parsed ACK: give it the public Ack shape, then resolve with it
// (AA/CA) or throw the most specific @glion/ack exception (AE/AR/CE/CR). Pure JS, no Node
// built-ins (the Workers entry uses it too).

const { exceptionFromAck } = require("@glion/ack");

/** The public Ack shape: absent fields are undefined (never null), `errors` always an array. */
function toAck(parsed) {
  return {
    code: parsed.code,
    controlId: parsed.controlId,
    message: parsed.message ?? undefined,
    errorCode: parsed.errorCode ?? undefined,
    severity: parsed.severity ?? undefined,
    errors: parsed.errors.map(toAckError),
    raw: parsed.raw,
  };
}

/** One ERR detail in the public shape: absent fields are undefined. */
function toAckError(e) {
  return {
    errorCode: e.errorCode ?? undefined,
    errorText: e.errorText ?? undefined,
    severity: e.severity ?? undefined,
    location: e.location ?? undefined,
  };
}

/** AA/CA are returned; AE/AR/CE/CR throw. */
function settle(ack) {
  const exception = exceptionFromAck(ack);
  if (exception) throw exception;
  return ack;
}

module.exports = { toAck, toAckError, settle };
