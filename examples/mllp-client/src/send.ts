// The default CLI: one connection, one message, one ACK.
//
//   npm run send -- --sample adt-a01            (receiver on 127.0.0.1:2575, no TLS)
//   npm run send -- --file msg.hl7 --host mllp.example.com --port 6661 --tls
//
// Prints the ACK (one segment per line) and `code=<MSA-1> controlId=<MSA-2>` on stdout and
// exits 0. A NAK (AE/AR/CE/CR) is printed on stderr, raw NAK included, with exit 1; a
// transport failure with exit 2 (exit codes: EXIT in args.ts).

import { MllpClient } from "@glion/mllp-client/node";

import { parseSendArgs } from "./args.js";
import { reportFailure, segments } from "./report.js";

const { host, port, tls, message } = parseSendArgs("send");

try {
  // The constructor validates the options and opens nothing; send() opens one TCP (or TLS)
  // connection, writes the framed message, waits for one ACK frame and closes.
  const client = new MllpClient({ host, port, tls });
  const ack = await client.send(message); // ack.code === "AA" (or "CA"): accepted
  // ack.raw is the ACK as received: its segments end in CR, which a terminal would draw over
  // each other. One segment per line is what a person can read.
  console.log(segments(ack.raw));
  console.log(`code=${ack.code} controlId=${ack.controlId}`);
} catch (error) {
  // NAKs arrive as @glion/ack exceptions, transport failures as MllpClientError (report.ts).
  reportFailure(error, host, port);
}
