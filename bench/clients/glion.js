"use strict";
// Ours: @glion/mllp-client, loaded from the repository root (the built addon next to it).
// For profiling, GLION_BENCH_ADDON=/path/to/an-unstripped.node loads the same JS layer over
// another build of the addon (see README.md, "Profiling our client").
const { defineClient } = require("./_driver.js");

const { MllpClient } = process.env.GLION_BENCH_ADDON
  ? { MllpClient: require("../../lib/native-client.cjs").createClientClass(require(process.env.GLION_BENCH_ADDON), { eventLoop: process.env.GLION_MLLP_IO !== "tokio" }) }
  : require("../../index.cjs");

function newClient(opts) {
  return new MllpClient({
    host: opts.host,
    port: opts.port,
    tls: opts.tls ? { ca: opts.tls.ca, servername: opts.tls.servername } : false,
  });
}

module.exports = defineClient({
  name: "glion",
  supports: { perMessage: true, persistent: true, enhanced: true, tls: true },

  // One MllpClient per process (TLS config built once); each send() opens its own connection.
  perMessage(opts) {
    const client = newClient(opts);
    if (opts.enhanced) {
      return async (text, id) => {
        const got = [];
        for await (const ack of client.stream(text)) got.push(`${ack.code}|${ack.controlId}`);
        if (got.join(" ") !== `CA|${id} AA|${id}`) throw new Error(`unexpected ACKs ${got.join(" ")}`);
      };
    }
    return async (text, id) => {
      const ack = await client.send(text);
      if (ack.code !== "AA" || ack.controlId !== id) throw new Error(`unexpected ACK ${ack.code} ${ack.controlId}`);
    };
  },

  // Persistent connections: the opt-in pool. Each of the C workers gets its own client
  // with one pooled connection (one message in flight per connection, as MLLP requires).
  async connect(opts) {
    const client = new MllpClient({
      host: opts.host,
      port: opts.port,
      tls: opts.tls ? { ca: opts.tls.ca, servername: opts.tls.servername } : false,
      pool: { max: 1 },
    });
    return {
      send: async (text, id) => {
        const ack = await client.send(text);
        if (ack.code !== "AA" || ack.controlId !== id) throw new Error(`unexpected ACK ${ack.code} ${ack.controlId}`);
      },
      close: () => client.close(),
    };
  },
});
