// Deno: the Outbox on its SQLite store (in the same native addon), against the bundled test
// receiver: enqueue is durable, delivery is in order, a NAK AR is a dead letter.
import { assert, assertEquals } from "./assert.ts";
import { MllpClient } from "@glion/mllp-client/deno";
import { Outbox } from "@glion/mllp-client/outbox";
import { startTestReceiver } from "@glion/mllp-client/testing";

const hl7 = (id: string) => `MSH|^~\\&|SENDER|FAC|LAB|FAC|20260510120000||ADT^A01^ADT_A01|${id}|P|2.5\rPID|1||${id}`;

Deno.test("outbox: delivers in order on SQLite; AR is a dead letter", async () => {
  const receiver = await startTestReceiver({ reply: (m: string) => (m.includes("|REJECT1|") ? "AR" : "AA") });
  const dir = await Deno.makeTempDir();
  try {
    const client = new MllpClient({ host: "127.0.0.1", port: receiver.port, tls: false });
    const outbox = await Outbox.open({ client, store: `sqlite:${dir}/outbox.db`, queue: "lab" });
    const ids = ["D1", "D2", "REJECT1", "D3"];
    for (const id of ids) assert((await outbox.enqueue(hl7(id))).id > 0);
    await outbox.drain();
    assertEquals(outbox.stats(), { pending: 0, inFlight: 0, delivered: 3, dead: 1 });
    assertEquals(receiver.received.map((m: { controlId?: string }) => m.controlId), ids);
    const dead = await outbox.dead();
    assertEquals(dead.map((d) => [d.controlId, d.code]), [["REJECT1", "AR"]]);
    await outbox.close();
  } finally {
    await receiver.close();
    await Deno.remove(dir, { recursive: true });
  }
});
