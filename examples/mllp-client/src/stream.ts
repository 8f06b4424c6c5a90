// The streaming variant: prints every ACK frame the receiver emits, as it arrives.
//
//   npm run receive -- --enhanced --delay 1000   (terminal 1: CA at once, AA a second later)
//   npm run stream -- --sample oru-r01           (terminal 2)
//
// An enhanced-mode receiver answers CA (commit accept: received, will be processed) and
// then the final ACK (AA, or a NAK); an original-mode receiver sends only the final ACK.
// Same exit codes as send.ts: 0 accepted, 1 NAK, 2 transport error.

import { MllpClient } from "@glion/mllp-client/node";

import { parseSendArgs } from "./args.js";
import { reportFailure } from "./report.js";

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
  reportFailure(error, host, port);
}
