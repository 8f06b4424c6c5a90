"use strict";
// A process that uses the Outbox, for the crash tests (outbox-crash.test.js,
// outbox-postgres.test.js). One JSON argument:
//   { store, queue, port, enqueue?: N, prefix?, retry?, drain?: boolean }
// Prints "OPEN <pid>", then (with `enqueue`) enqueues N messages <prefix>00000.. and prints
// "ENQUEUED <n>"; with `drain` it prints "DRAINED <stats>" once nothing is pending and
// exits; without, it delivers until it is killed.

const { Outbox } = require("../lib/outbox-entry.cjs");
const { MllpClient } = require("../index.cjs");
const { hl7 } = require("./outbox-helpers.cjs");

async function main() {
  const config = JSON.parse(process.argv[2]);
  const client = new MllpClient({ host: "127.0.0.1", port: config.port, tls: false, ackTimeout: 5000, connectTimeout: 2000 });
  const outbox = await Outbox.open({ client, store: config.store, queue: config.queue, retry: config.retry ?? { initialDelay: 200, maxDelay: 1000 } });
  console.log(`OPEN ${process.pid}`);
  if (config.enqueue) {
    const prefix = config.prefix ?? "CRASH";
    await Promise.all(Array.from({ length: config.enqueue }, (_, i) => outbox.enqueue(hl7(`${prefix}${String(i).padStart(5, "0")}`))));
    console.log(`ENQUEUED ${config.enqueue}`);
  }
  if (config.drain) {
    await outbox.drain();
    console.log(`DRAINED ${JSON.stringify(outbox.stats())}`);
    await outbox.close();
    return;
  }
  setInterval(() => {}, 1000); // deliver until killed
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
