"use strict";
// Ours: @glion/mllp-client, loaded from the repository root (the built addon next to it).
// For profiling, GLION_BENCH_ADDON=/path/to/an-unstripped.node loads the same JS layer over
// another build of the addon (see README.md, "Profiling our client").
const { defineClient } = require("./_driver.js");

const { MllpClient } = process.env.GLION_BENCH_ADDON
  ? { MllpClient: require("../../lib/native-client.cjs").createClientClass(require(process.env.GLION_BENCH_ADDON), { eventLoop: process.env.GLION_MLLP_IO !== "tokio" }) }
  : require("../../index.cjs");

function clientOptions(opts) {
  return { host: opts.host, port: opts.port, tls: opts.tls ? { ca: opts.tls.ca, servername: opts.tls.servername } : false };
}

/** The pooled client the persistent workers of this process share. */
let shared = null;

module.exports = defineClient({
  name: "glion",
  supports: { perMessage: true, persistent: true, enhanced: true, tls: true },

  // One MllpClient per process (TLS config built once); each send() opens its own connection.
  perMessage(opts) {
    const client = new MllpClient(clientOptions(opts));
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

  // Persistent connections: the opt-in pool, as an application uses it: one MllpClient per
  // process with `pool: { max: C }`, shared by the C workers (one message in flight per
  // connection, as MLLP requires).
  async connect(opts) {
    shared ??= { client: new MllpClient({ ...clientOptions(opts), pool: { max: opts.concurrency ?? 1 } }), users: 0 };
    const { client } = shared;
    shared.users++;
    return {
      send: async (text, id) => {
        const ack = await client.send(text);
        if (ack.code !== "AA" || ack.controlId !== id) throw new Error(`unexpected ACK ${ack.code} ${ack.controlId}`);
      },
      close: async () => {
        if (--shared.users === 0) {
          shared = null;
          await client.close();
        }
      },
    };
  },
});
