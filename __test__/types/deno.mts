// The spec's Deno import, verbatim, type-checked against the types of `./deno` (index.d.ts).
import { MllpClient } from "@glion/mllp-client/deno";    // Deno

const client = new MllpClient({ host: "127.0.0.1", port: 2575, tls: false });
const ack = await client.send("MSH|^~\\&|A|B|C|D|20260510120000||ADT^A01|MSG00001|P|2.5");
console.log(`code=${ack.code} controlId=${ack.controlId}`);
export {};
