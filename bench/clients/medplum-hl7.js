"use strict";
// npm @medplum/hl7: `Hl7Client` (one socket per client; `close()` ends it). Its
// sendAndWait() needs an `Hl7Message` (it reads MSH-10 from it to match the ACK), so each
// message is parsed with @medplum/core's `Hl7Message.parse` inside the timed send, as an
// application holding HL7 text must.
// Not in the enhanced case: its `returnAck: "application"` waits past CA, but its reader
// takes everything up to a chunk ending in 0x1C 0x0D as ONE message, so a CA and an AA that
// arrive in the same read become one message whose MSA is the CA, and the send never settles.
const { Hl7Client } = require("@medplum/hl7");
const { Hl7Message } = require("@medplum/core");
const { defineClient } = require("./_driver.js");

async function sendWith(client, text, id, enhanced) {
  const ack = await client.sendAndWait(Hl7Message.parse(text), enhanced ? { returnAck: "application" } : undefined);
  const msa = ack.getSegment("MSA");
  const code = msa?.getField(1)?.toString();
  const ctrl = msa?.getField(2)?.toString();
  if (code !== "AA" || ctrl !== id) throw new Error(`unexpected ACK ${code} ${ctrl}`);
}

module.exports = defineClient({
  name: "medplum-hl7",
  supports: { perMessage: true, persistent: true, enhanced: false, tls: false },
  perMessage(opts) {
    return async (text, id) => {
      const client = new Hl7Client({ host: opts.host, port: opts.port });
      client.addEventListener("error", () => {});
      try {
        await sendWith(client, text, id, opts.enhanced);
      } finally {
        await client.close();
      }
    };
  },
  async connect(opts) {
    const client = new Hl7Client({ host: opts.host, port: opts.port });
    client.addEventListener("error", () => {});
    await client.connect();
    return { send: (text, id) => sendWith(client, text, id, opts.enhanced), close: () => client.close() };
  },
});
