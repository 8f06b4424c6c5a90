// How send.ts and stream.ts report a failure on stderr, with the library's exit code for it
// (exitCodeFor: 1 NAK, 2 transport failure, 65 a message the client refused).

import { AckApplicationError, AckApplicationReject, AckException } from "@glion/ack";
import { exitCodeFor, MllpClientError } from "@glion/mllp-client/node";

import { isLoopback } from "./args.js";

/** An HL7 message's segments one per line (they are separated by CR on the wire). */
export function segments(raw: string): string {
  return raw.split(/\r\n|\r|\n/).filter(Boolean).join("\n");
}

/** The spec's error handling: each class of failure, most specific first. */
export function reportFailure(error: unknown, host: string, port: number): void {
  if (error instanceof AckApplicationError) {
    // MSA-1 = AE
    reportNak(error, "application error: the receiver could not process the message");
  } else if (error instanceof AckApplicationReject) {
    // MSA-1 = AR
    reportNak(error, "application reject: the receiver refuses this message");
  } else if (error instanceof AckException) {
    // CE / CR: commit-level error or reject (enhanced mode)
    reportNak(error, "commit error or reject: the receiver did not take the message");
  } else if (error instanceof MllpClientError) {
    // Transport-level failure: CONNECTION_REFUSED, TIMEOUT, CONNECTION_CLOSED, MALFORMED_FRAME,
    // MALFORMED_ACK, TLS_ERROR, INVALID_INPUT.
    reportTransportError(error, host, port);
  } else {
    throw error;
  }
}

export function reportNak(error: AckException, meaning: string): void {
  console.error(`NAK ${error.code} (${error.name}: ${meaning})`);
  console.error(`  text (MSA-3): ${error.message}`);
  console.error(`  errorCode (ERR-3): ${error.errorCode ?? "none"}  severity (ERR-4): ${error.severity ?? "none"}`);
  console.error(`  controlId (MSA-2): ${error.controlId ?? ""}`);
  if (error.raw) console.error(`  raw NAK:\n${segments(error.raw).replace(/^/gm, "    ")}`);
  process.exitCode = exitCodeFor(error);
}

export function reportTransportError(error: MllpClientError, host: string, port: number): void {
  console.error(`MllpClientError ${error.code}: ${error.message}`);
  if (error.code === "CONNECTION_REFUSED" && isLoopback(host)) {
    console.error(`  Is a receiver listening on ${host}:${port}? Start one with \`npm run receive\` in another terminal.`);
  }
  if (error.sent) console.error("  The message was sent before the failure: the receiver may have it.");
  process.exitCode = exitCodeFor(error);
}
