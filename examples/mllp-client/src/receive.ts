// A receiver to send to, for the second terminal: the test receiver that ships with
// @glion/mllp-client. It ACKs every message and prints one line per message.
//
//   npm run receive                          (127.0.0.1:2575, original mode, AA)
//   npm run receive -- --enhanced            (CA, then the final ACK: try `npm run stream`)
//   npm run receive -- --code AE             (answer every message with a NAK)
//
// Runs until Ctrl-C (SIGINT) or SIGTERM, then closes its listener and connections.

import { startTestReceiver } from "@glion/mllp-client/testing";

import { EXIT, parseReceiveArgs } from "./args.js";

const { host, port, enhanced, code, delay } = parseReceiveArgs();

const answer = enhanced ? `CA, then ${code}` : code;

let receiver: Awaited<ReturnType<typeof startTestReceiver>>;
try {
  receiver = await startTestReceiver({
    host,
    port,
    mode: enhanced ? "enhanced" : "original",
    delay,
    reply() {
      if (code === "AA") return "AA";
      return { code, text: `Rejected by the test receiver (--code ${code})`, errorCode: "207", severity: "E" };
    },
    // One line per message once its exchange is over, with what the client really got: a
    // client that leaves after the CA did not get the final ACK.
    onAnswered(entry) {
      const got = entry.answered.join(", then ") || "nothing";
      const left = entry.clientLeft ? ` (the client left before the ${entry.ackCode})` : "";
      console.log(
        `${entry.receivedAt.toISOString()}  ${entry.messageType ?? ""}  controlId=${entry.controlId ?? ""}  from ${entry.peer}  -> ${got}${left}`,
      );
    },
  });
} catch (error) {
  // The error already says where ("cannot listen on 127.0.0.1:2575: Address in use ...").
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  if (error instanceof Error && /in use/i.test(error.message)) {
    console.error(`  Is another receiver running on port ${port}? Stop it, or pick another one with --port.`);
  }
  process.exit(EXIT.TRANSPORT);
}

console.log(
  `Test MLLP receiver listening on ${receiver.host}:${receiver.port} (${enhanced ? "enhanced" : "original"} mode, answering ${answer}). Ctrl-C to stop.`,
);

let closing = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (closing) return;
  closing = true;
  await receiver.close();
  console.log(`${signal}: receiver closed after ${receiver.received.length} message(s).`);
  process.exit(0);
}
process.on("SIGINT", (signal) => void shutdown(signal));
process.on("SIGTERM", (signal) => void shutdown(signal));
