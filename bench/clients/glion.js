"use strict";
// Ours: @glion/mllp-client, loaded from the repository root (the built addon next to it).
// For profiling, GLION_BENCH_ADDON=/path/to/an-unstripped.node loads the same JS layer over
// another build of the addon (see README.md, "Profiling our client").
const { defineClient } = require("./_driver.js");

const { MllpClient } = process.env.GLION_BENCH_ADDON
  ? { MllpClient: require("../../lib/native-client.js").createClientClass(require(process.env.GLION_BENCH_ADDON)) }
  : require("../../index.js");

function newClient(opts) {
  return new MllpClient({
    host: opts.host,
    port: opts.port,
    tls: opts.tls ? { ca: opts.tls.ca, servername: opts.tls.servername } : false,
  });
}

module.exports = defineClient({
  name: "glion",
  supports: { perMessage: true, persistent: false, enhanced: true, tls: true },

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

  // ======================================================================================
  // LEAD: persistent connections of our client (the opt-in pool, issue 7 item 3) go here.
  // Until then this case is reported as "pending (pool)" for our client. Expected shape:
  //
  //   async connect(opts) {
  //     const client = new MllpClient({ ...same options as newClient(opts), pool: { max: 1 } });
  //     return {
  //       send: async (text, id) => { const ack = await client.send(text); /* check as above */ },
  //       close: () => client.close(),
  //     };
  //   },
  //
  // (the runner gives each of the C workers its own connect(); one message in flight each)
  // and set `supports.persistent: true` above.
  // ======================================================================================
  connect: null,
});
