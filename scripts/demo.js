"use strict";
// `npm run demo`: start the bundled test receiver, send samples/adt-a01.hl7 over plain TCP
// on loopback, print the raw ACK and the parsed fields, stop.

const fs = require("node:fs");
const path = require("node:path");
const { MllpClient, startTestReceiver } = require("../lib/testing.cjs");

async function main() {
  const receiver = await startTestReceiver({ host: "127.0.0.1", port: 0 });
  try {
    // Loopback: TLS explicitly off (the client's default is TLS on).
    const client = new MllpClient({ host: "127.0.0.1", port: receiver.port, tls: false });
    const message = fs.readFileSync(path.join(__dirname, "..", "samples", "adt-a01.hl7"), "utf8");
    const ack = await client.send(message);
    console.log(ack.raw.split("\r").filter(Boolean).join("\n"));
    console.log(`code=${ack.code} controlId=${ack.controlId}`);
  } finally {
    await receiver.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
