// The spec's Node.js snippets, verbatim, type-checked by `tsc -p __test__/types/tsconfig.node.json` (ESM: .mts).
import { readFileSync } from "node:fs";
import { AckApplicationError, AckApplicationReject, AckException } from "@glion/ack";
import { MllpClient, MllpClientError } from "@glion/mllp-client/node";
import { startTestReceiver } from "@glion/mllp-client/testing";

const client = new MllpClient({ host: "127.0.0.1", port: 2575, tls: false });

const message = [
  "MSH|^~\\&|SENDER|FACILITY|RECEIVER|FACILITY|20260510120000||ADT^A01^ADT_A01|MSG00001|P|2.5",
  "EVN|A01|20260510120000",
  "PID|1||PATID1234^^^FACILITY^MR||DOE^JOHN^M||19800101|M",
].join("\r");
const ack = await client.send(message);
console.log(ack.raw);
console.log(`code=${ack.code} controlId=${ack.controlId}`);

try {
  const ack = await client.send(message);   // ack.code === "AA": accepted
} catch (error) {
  if (error instanceof AckApplicationError) {        // MSA-1 = AE
  } else if (error instanceof AckApplicationReject) { // MSA-1 = AR
  } else if (error instanceof AckException) {         // CE / CR: commit-level error or reject
  } else if (error instanceof MllpClientError) {
    // Transport-level failure. error.code is one of CONNECTION_REFUSED,
    // TIMEOUT, CONNECTION_CLOSED, MALFORMED_FRAME, MALFORMED_ACK.
  } else {
    throw error;
  }
}

const tlsClient = new MllpClient({
  host: "mllp.example.com",
  port: 6661,
  tls: {
    ca: readFileSync("ca.pem"),
    cert: readFileSync("client-cert.pem"),
    key: readFileSync("client-key.pem"),
  },
});

try {
  for await (const ack of client.stream(message)) {
    console.log(`${ack.code} controlId=${ack.controlId}`);
  }
} catch (error) {
  // Handle exceptions as in the single-send example.
}

// Beyond the snippets: the fields the types promise.
const code: "AA" | "AE" | "AR" | "CA" | "CE" | "CR" = ack.code;
const errorCode: string | undefined = ack.errorCode;
const firstText: string | undefined = ack.errors[0]?.errorText;
const controller = new AbortController();
await client.send(new Uint8Array(readFileSync("msg.hl7")), { signal: controller.signal, ackTimeout: 5000 });
const receiver = await startTestReceiver({ mode: "enhanced", reply: () => ({ code: "AE", text: "no", errorCode: "207" }) });
const port: number = receiver.port;
await receiver.close();
void [tlsClient, code, errorCode, firstText, port];
export {};
