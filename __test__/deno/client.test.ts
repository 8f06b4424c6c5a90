// Deno: `@glion/mllp-client/deno` loads the same native addon. Run by scripts/test.js as
//   deno test --node-modules-dir=manual --allow-read --allow-ffi --allow-net --allow-env
// (see README "Deno" for why each permission is needed).
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { AckApplicationError, MllpClient, MllpClientError } from "@glion/mllp-client/deno";
import { startTestReceiver } from "@glion/mllp-client/testing";

const message = [
  "MSH|^~\\&|SENDER|FACILITY|RECEIVER|FACILITY|20260510120000||ADT^A01^ADT_A01|MSG00001|P|2.5",
  "EVN|A01|20260510120000",
  "PID|1||PATID1234^^^FACILITY^MR||DOE^JOHN^M||19800101|M",
].join("\r");

Deno.test("send: AA with the message control id", async () => {
  const receiver = await startTestReceiver();
  try {
    const client = new MllpClient({ host: "127.0.0.1", port: receiver.port, tls: false });
    const ack = await client.send(message);
    assertEquals(ack.code, "AA");
    assertEquals(ack.controlId, "MSG00001");
    assert(ack.raw.includes("MSA|AA|MSG00001"));
    assertEquals(receiver.received[0].message, message);
  } finally {
    await receiver.close();
  }
});

Deno.test("send: a NAK throws the @glion/ack class", async () => {
  const receiver = await startTestReceiver({ reply: () => ({ code: "AE", text: "Patient not found", errorCode: "204", severity: "E" }) });
  try {
    const client = new MllpClient({ host: "127.0.0.1", port: receiver.port, tls: false });
    const error = await assertRejects(() => client.send(message), AckApplicationError);
    assertEquals(error.code, "AE");
    assertEquals(error.message, "Patient not found");
    assertEquals(error.errorCode, "204");
    assertEquals(error.severity, "E");
  } finally {
    await receiver.close();
  }
});

Deno.test("send: nothing listening is CONNECTION_REFUSED with sent false", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const client = new MllpClient({ host: "127.0.0.1", port, tls: false });
  const error = await assertRejects(() => client.send(message), MllpClientError);
  assertEquals(error.code, "CONNECTION_REFUSED");
  assertEquals(error.sent, false);
});

Deno.test("send: bad options throw INVALID_INPUT synchronously", () => {
  let thrown: unknown;
  try {
    new MllpClient({ host: "127.0.0.1", port: 0, tls: false });
  } catch (error) {
    thrown = error;
  }
  assert(thrown instanceof MllpClientError);
  assertEquals(thrown.code, "INVALID_INPUT");
});

Deno.test("stream: CA then AA from an enhanced-mode receiver", async () => {
  const receiver = await startTestReceiver({ mode: "enhanced", delay: 20 });
  try {
    const client = new MllpClient({ host: "127.0.0.1", port: receiver.port, tls: false });
    const codes: string[] = [];
    for await (const ack of client.stream(message)) codes.push(`${ack.code} ${ack.controlId}`);
    assertEquals(codes, ["CA MSG00001", "AA MSG00001"]);
  } finally {
    await receiver.close();
  }
});

Deno.test("charsets: auto reads MSH-18; the test receiver answers in the same charset", async () => {
  const receiver = await startTestReceiver({ reply: () => ({ code: "AA", text: "Grüße" }) });
  try {
    const client = new MllpClient({ host: "127.0.0.1", port: receiver.port, tls: false, encoding: "auto" });
    const ack = await client.send(`${message.split("\r")[0]}||||||8859/1\rPID|1||P1||MÜLLER`);
    assertEquals(ack.message, "Grüße");
    assertEquals(receiver.received[0].charset, "ISO-8859-1");
    assert(receiver.received[0].message.endsWith("||MÜLLER"));
    await assertRejects(() => new MllpClient({ host: "127.0.0.1", port: receiver.port, tls: false, encoding: "latin1" }).send(`${message}€`), MllpClientError);
  } finally {
    await receiver.close();
  }
});

Deno.test("diagnostics: the glion:mllp:send tracing channel sees each send, without message content", async () => {
  const { tracingChannel } = await import("node:diagnostics_channel");
  const channel = tracingChannel("glion:mllp:send");
  const events: { name: string; context: Record<string, unknown> }[] = [];
  const record = (name: string) => (context: unknown) => events.push({ name, context: { ...(context as Record<string, unknown>) } });
  const handlers = { start: record("start"), end: record("end"), asyncStart: record("asyncStart"), asyncEnd: record("asyncEnd"), error: record("error") };
  channel.subscribe(handlers);
  const receiver = await startTestReceiver();
  try {
    await new MllpClient({ host: "127.0.0.1", port: receiver.port, tls: false }).send(message);
  } finally {
    channel.unsubscribe(handlers);
    await receiver.close();
  }
  assertEquals(events.map((e) => e.name), ["start", "end", "asyncStart", "asyncEnd"]);
  const { ack, ...rest } = events[3].context;
  assertEquals(rest, { host: "127.0.0.1", port: receiver.port, tls: false, controlId: "MSG00001", bytes: message.length, pooled: false });
  assertEquals(ack, { code: "AA", controlId: "MSG00001" });
  assert(!JSON.stringify(events).includes("DOE^JOHN"));
});
