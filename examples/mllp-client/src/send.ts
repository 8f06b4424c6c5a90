// The default CLI: one connection, one message, one ACK.
//
//   npm run send -- --sample adt-a01            (receiver on 127.0.0.1:2575, no TLS)
//   npm run send -- --file msg.hl7 --host mllp.example.com --port 6661 --tls
//
// Prints the raw ACK and `code=<MSA-1> controlId=<MSA-2>` on stdout and exits 0. A NAK
// (AE/AR/CE/CR) is printed on stderr with exit 1; a transport failure with exit 2.

import { AckApplicationError, AckApplicationReject, AckException } from "@glion/ack";
import { MllpClient, MllpClientError } from "@glion/mllp-client/node";

import { EXIT_NAK, EXIT_TRANSPORT, isLoopback, parseSendArgs } from "./args.js";

const { host, port, tls, message } = parseSendArgs("send");

try {
  // The constructor validates the options and opens nothing; send() opens one TCP (or TLS)
  // connection, writes the framed message, waits for one ACK frame and closes.
  const client = new MllpClient({ host, port, tls });
  const ack = await client.send(message); // ack.code === "AA" (or "CA"): accepted
  console.log(ack.raw);
  console.log(`code=${ack.code} controlId=${ack.controlId}`);
} catch (error) {
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
    reportTransportError(error);
  } else {
    throw error;
  }
}

function reportNak(error: AckException, meaning: string): void {
  console.error(`NAK ${error.code} (${error.name}: ${meaning})`);
  console.error(`  text (MSA-3): ${error.message}`);
  console.error(`  errorCode (ERR-3): ${error.errorCode ?? "none"}  severity (ERR-4): ${error.severity ?? "none"}`);
  console.error(`  controlId (MSA-2): ${error.controlId ?? ""}`);
  process.exitCode = EXIT_NAK;
}

function reportTransportError(error: MllpClientError): void {
  console.error(`MllpClientError ${error.code}: ${error.message}`);
  if (error.code === "CONNECTION_REFUSED" && isLoopback(host)) {
    console.error(`  Is a receiver listening on ${host}:${port}? Start one with \`npm run receive\` in another terminal.`);
  }
  if (error.sent) console.error("  The message was sent before the failure: the receiver may have it.");
  process.exitCode = EXIT_TRANSPORT;
}
