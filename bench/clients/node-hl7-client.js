"use strict";
// npm node-hl7-client: `new Client({ host }).createConnection({ port }, handler)`. A
// Connection is persistent (with reconnects); the ACK arrives in `handler`, not as the result
// of sendMessage(). One Connection per worker (waitAck: one message in flight). Connection
// per message: a fresh Client + Connection per message, closed after its ACK.
// `autoConnect: false` so that the first sendMessage() opens exactly one socket (with
// autoConnect a send before 'connect' opens a second one). sendMessage() only calls
// `message.toString()`, so it is given the HL7 text as is (no parse on our side); the
// library parses each ACK into a Message.
const { Client } = require("node-hl7-client");
const { defineClient } = require("./_driver.js");

function connection(opts) {
  let pending = null;
  const client = new Client({ host: opts.host });
  const conn = client.createConnection({ port: opts.port, autoConnect: false, waitAck: true, maxConnectionAttempts: 1 }, async (res) => {
    const p = pending;
    pending = null;
    if (!p) return;
    try {
      const msg = res.getMessage();
      const code = msg.get("MSA.1").toString();
      const ctrl = msg.get("MSA.2").toString();
      if (code !== "AA" || ctrl !== p.id) throw new Error(`unexpected ACK ${code} ${ctrl}`);
      p.resolve();
    } catch (error) {
      p.reject(error);
    }
  });
  conn.on("client.error", (error) => {
    const p = pending;
    pending = null;
    if (p) p.reject(error);
  });
  return {
    send(text, id) {
      return new Promise((resolve, reject) => {
        pending = { resolve, reject, id };
        conn.sendMessage(text).catch((error) => {
          pending = null;
          reject(error);
        });
      });
    },
    close: () => conn.close(),
  };
}

module.exports = defineClient({
  name: "node-hl7-client",
  supports: { perMessage: true, persistent: true, enhanced: false, tls: false },
  perMessage(opts) {
    return async (text, id) => {
      const c = connection(opts);
      try {
        await c.send(text, id);
      } finally {
        await c.close();
      }
    };
  },
  async connect(opts) {
    return connection(opts);
  },
});
