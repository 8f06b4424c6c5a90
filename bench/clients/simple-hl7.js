"use strict";
// npm simple-hl7: its TcpClient (`hl7.Server.createTcpClient`). With `keepalive: false` it
// closes the socket after each ACK and reconnects on the next send (connection per message);
// with `keepalive: true` it keeps one socket. One TcpClient per worker (it allows one message
// in flight). Its send() only calls `msg.toString()`, so it is given the HL7 text as is (no
// parse on our side); it parses each ACK with its own Parser.
const hl7 = require("simple-hl7");
const { defineClient } = require("./_driver.js");

function sendWith(client, text, id) {
  return new Promise((resolve, reject) => {
    client.send(text, (err, ack) => {
      if (err) return reject(err);
      const msa = ack.getSegment("MSA");
      const code = msa && msa.getField(1);
      const ctrl = msa && msa.getField(2);
      if (code !== "AA" || ctrl !== id) return reject(new Error(`unexpected ACK ${code} ${ctrl}`));
      resolve();
    });
  });
}

module.exports = defineClient({
  name: "simple-hl7",
  supports: { perMessage: true, persistent: true, enhanced: false, tls: false },
  perMessage(opts) {
    return async (text, id) => {
      const client = hl7.Server.createTcpClient({ host: opts.host, port: opts.port, keepalive: false });
      try {
        await sendWith(client, text, id);
      } finally {
        client.close();
      }
    };
  },
  async connect(opts) {
    const client = hl7.Server.createTcpClient({ host: opts.host, port: opts.port, keepalive: true });
    return { send: (text, id) => sendWith(client, text, id), close: () => client.close() };
  },
});
