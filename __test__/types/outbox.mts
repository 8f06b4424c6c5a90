// The contract's Outbox snippet, type-checked against outbox.d.ts.
import { MllpClient } from "@glion/mllp-client/node";
import { Outbox, type DeadLetter, type OutboxStats } from "@glion/mllp-client/outbox";

declare const host: string, port: number, tls: boolean, message: string;

const outbox = await Outbox.open({
  client: new MllpClient({ host, port, tls }),
  store: "sqlite:./outbox.db",
  queue: "lab",
  retry: { initialDelay: 1000, maxDelay: 60000, maxAttempts: Infinity },
  onNak: { AE: "retry", AR: "dead", CE: "retry", CR: "dead" },
});
const { id }: { id: number } = await outbox.enqueue(message);
await outbox.drain();
const stats: OutboxStats = outbox.stats();
const { pending, inFlight, delivered, dead } = stats;
const letters: DeadLetter[] = await outbox.dead();
for (const { id, controlId, code, reason, attempts } of letters) console.log(id, controlId, code, reason, attempts[0]?.at.getTime());
await outbox.requeue(id);
await outbox.close();
console.log(pending + inFlight + delivered + dead);
