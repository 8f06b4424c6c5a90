"use strict";
// The exit codes of every command-line sender: the `mllp send` CLI and the example app's
// `send`/`stream` scripts (exported as EXIT_CODES / exitCodeFor from @glion/mllp-client).
// README "Exit codes" documents this table; 64-66 are the BSD sysexits.h codes.

const { AckException } = require("@glion/ack");
const { MllpClientError } = require("./errors.cjs");

const EXIT_CODES = Object.freeze({
  /** AA (or CA): every message was accepted. */
  OK: 0,
  /** AE, AR, CE or CR: the receiver answered with a negative acknowledgment. */
  NAK: 1,
  /** MllpClientError: no usable ACK (refused, timeout, closed, bad frame or ACK, TLS). */
  TRANSPORT: 2,
  /** Bad flags or options (EX_USAGE). */
  USAGE: 64,
  /** The input is not an HL7v2 message: empty, no MSH, MLLP block bytes inside (EX_DATAERR). */
  DATA: 65,
  /** The input file cannot be read (EX_NOINPUT). */
  NO_INPUT: 66,
});

/**
 * The exit code a failed send stands for: NAK for an AckException, DATA for a message the
 * client refused (INVALID_INPUT from send()/stream()), TRANSPORT for any other
 * MllpClientError; undefined for anything else (a bug: let it crash loudly).
 */
function exitCodeFor(error) {
  if (error instanceof AckException) return EXIT_CODES.NAK;
  if (error instanceof MllpClientError) return error.code === "INVALID_INPUT" ? EXIT_CODES.DATA : EXIT_CODES.TRANSPORT;
  return undefined;
}

module.exports = { EXIT_CODES, exitCodeFor };
