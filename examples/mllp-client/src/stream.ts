// The streaming variant: prints every ACK frame the receiver emits, as it arrives.
//
//   npm run receive -- --enhanced --delay 1000   (terminal 1: CA at once, AA a second later)
//   npm run stream -- --sample oru-r01           (terminal 2)
//
// An enhanced-mode receiver answers CA (commit accept: received, will be processed) and
// then the final ACK (AA, or a NAK); an original-mode receiver sends only the final ACK.
// Same exit codes as send.ts: 0 accepted, 1 NAK, 2 transport error.

import { AckApplicationError, AckApplicationReject, AckException } from "@glion/ack";
import { MllpClient, MllpClientError } from "@glion/mllp-client/node";

import { EXIT_NAK, EXIT_TRANSPORT, isLoopback, parseSendArgs } from "./args.js";

const { host, port, tls, message } = parseSendArgs("stream");

try {
  const client = new MllpClient({ host, port, tls });
  // One connection; the iterable completes after the resolving accept frame (AA), and a
  // NAK frame is thrown as the matching @glion/ack exception.
  for await (const ack of client.stream(message)) {
    console.log(`${ack.code} controlId=${ack.controlId}`);
  }
} catch (error) {
  // Handled as in send.ts.
  if (error instanceof AckApplicationError) {
    reportNak(error, "application error: the receiver could not process the message");
  } else if (error instanceof AckApplicationReject) {
    reportNak(error, "application reject: the receiver refuses this message");
  } else if (error instanceof AckException) {
    reportNak(error, "commit error or reject: the receiver did not take the message");
  } else if (error instanceof MllpClientError) {
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
