// A receiver to send to, for the second terminal: the test receiver that ships with
// @glion/mllp-client. It ACKs every message and prints one line per message.
//
//   npm run receive                          (127.0.0.1:2575, original mode, AA)
//   npm run receive -- --enhanced            (CA, then the final ACK: try `npm run stream`)
//   npm run receive -- --code AE             (answer every message with a NAK)
//
// Runs until Ctrl-C (SIGINT) or SIGTERM, then closes its listener and connections.

import { startTestReceiver } from "@glion/mllp-client/testing";

import { EXIT_TRANSPORT, parseReceiveArgs } from "./args.js";

const { host, port, enhanced, code, delay } = parseReceiveArgs();

/** MSH-n of the message's first segment (MSH-1 is the field separator itself). */
function headerField(message: string, n: number): string {
  const header = message.split(/\r\n|\r|\n/, 1)[0] ?? "";
  return header.split(header.charAt(3) || "|")[n - 1] ?? "";
}

const answer = enhanced ? `CA, then ${code}` : code;

let receiver: Awaited<ReturnType<typeof startTestReceiver>>;
try {
  receiver = await startTestReceiver({
    host,
    port,
    mode: enhanced ? "enhanced" : "original",
    delay,
    reply(message, info) {
      const time = new Date().toISOString();
      console.log(
        `${time}  ${headerField(message, 9)}  controlId=${headerField(message, 10)}  from ${info.peer}  -> ${answer}`,
      );
      if (code === "AA") return "AA";
      return { code, text: `Rejected by the test receiver (--code ${code})`, errorCode: "207", severity: "E" };
    },
  });
} catch (error) {
  console.error(`error: cannot listen on ${host}:${port}: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(EXIT_TRANSPORT);
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
