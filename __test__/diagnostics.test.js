"use strict";
// Diagnostics (README "Diagnostics"): the tracingChannel "glion:mllp:send" around send() and
// stream(), seen by a real subscriber: events and context for AA, a NAK, a transport failure,
// a refused message and stream(); no field of any context holds message content; the README's
// OpenTelemetry recipe with the SDK's in-memory exporter (no mock of the channel) and its
// logger line. Runs on both I/O paths (scripts/test.js: TOKIO_AGAIN) and under Bun.

const test = require("node:test");
const assert = require("node:assert/strict");
const diagnosticsChannel = require("node:diagnostics_channel");
const { withReceiver, clientFor, frame, ackFor, onEachMessage, startRawReceiver } = require("./helpers.js");

const EVENTS = ["start", "end", "asyncStart", "asyncEnd", "error"];
const PATIENT = "PID|1||PAT-7731^^^HOSP^MR||ZWEISTEIN^EUGENIA^Q||19630412|F|||1 Secret Lane^^Springfield";
const message = (id) => `MSH|^~\\&|SND|FAC|RCV|FAC|20260510120000||ADT^A01^ADT_A01|${id}|P|2.5\r${PATIENT}`;

/** Subscribe for the duration of `body`; resolves with body's result and every event seen. */
async function traced(body) {
  const channel = diagnosticsChannel.tracingChannel("glion:mllp:send");
  const events = [];
  const handlers = Object.fromEntries(EVENTS.map((name) => [name, (context) => events.push({ name, context, snapshot: { ...context } })]));
  channel.subscribe(handlers);
  try {
    const result = await body().then((value) => ({ value }), (error) => ({ error }));
    return { ...result, events };
  } finally {
    channel.unsubscribe(handlers);
  }
}

/** Answers each message: AE for control ids starting NAK, CA then AA for STR, else AA. */
const answering = (socket) =>
  onEachMessage(socket, (text) => {
    const id = text.split("\r")[0].split("|")[9];
    if (id.startsWith("NAK")) socket.write(frame(ackFor(text, "AE", "|Patient not found")));
    else if (id.startsWith("STR")) socket.write(Buffer.concat([frame(ackFor(text, "CA")), frame(ackFor(text, "AA"))]));
    else socket.write(frame(ackFor(text, "AA")));
  });

function assertNoContent(events) {
  for (const { snapshot } of events) {
    const fields = JSON.stringify({ ...snapshot, error: snapshot.error && { message: snapshot.error.message, code: snapshot.error.code } });
    for (const secret of ["ZWEISTEIN", "EUGENIA", "PAT-7731", "Secret Lane", "19630412", "PID|"]) {
      assert.ok(!fields.includes(secret), `the context holds message content (${secret}): ${fields}`);
    }
  }
}

test("AA: start, end, asyncStart, asyncEnd with { host, port, tls, controlId, bytes, pooled } and the ack", async () => {
  await withReceiver(answering, async (rx) => {
    for (const pool of [false, true]) {
      const client = clientFor(rx, { pool });
      const { value, events } = await traced(() => client.send(message("AA1")));
      assert.equal(value.code, "AA");
      assert.deepEqual(events.map((e) => e.name), ["start", "end", "asyncStart", "asyncEnd"]);
      assert.ok(events.every((e) => e.context === events[0].context), "one context object per call");
      const expected = { host: "127.0.0.1", port: rx.port, tls: false, controlId: "AA1", bytes: Buffer.byteLength(message("AA1")), pooled: pool };
      assert.deepEqual(events[0].snapshot, expected, "start: no outcome yet");
      assert.deepEqual(events[3].snapshot, { ...expected, ack: { code: "AA", controlId: "AA1" } });
      assertNoContent(events);
      await client.close();
    }
  });
});

test("a NAK: error (the AckException) and ack { code, controlId }; no message content anywhere", async () => {
  await withReceiver(answering, async (rx) => {
    const { error, events } = await traced(() => clientFor(rx).send(message("NAK1")));
    assert.equal(error.code, "AE");
    assert.deepEqual(events.map((e) => e.name), ["start", "end", "error", "asyncStart", "asyncEnd"]);
    const context = events[4].snapshot;
    assert.equal(context.error, error);
    assert.deepEqual(context.ack, { code: "AE", controlId: "NAK1" });
    assertNoContent(events);
  });
});

test("a transport failure and a refused message: error, no ack", async () => {
  const rx = await startRawReceiver();
  const { port } = rx;
  await rx.close();
  const refused = await traced(() => clientFor({ port }).send(message("REF1")));
  assert.equal(refused.error.code, "CONNECTION_REFUSED");
  assert.deepEqual(refused.events.map((e) => e.name), ["start", "end", "error", "asyncStart", "asyncEnd"]);
  assert.equal(refused.events[4].snapshot.error.code, "CONNECTION_REFUSED");
  assert.equal(refused.events[4].snapshot.ack, undefined);
  assert.equal(refused.events[0].snapshot.controlId, "REF1");

  const invalid = await traced(() => clientFor({ port }, { encoding: "latin1" }).send(`${message("BAD1")}€`));
  assert.equal(invalid.error.code, "INVALID_INPUT");
  assert.deepEqual(invalid.events.map((e) => e.name), ["start", "end", "error", "asyncStart", "asyncEnd"]);
  assert.equal(invalid.events[0].snapshot.controlId, undefined, "a message the send refuses has no facts");
  assertNoContent([...refused.events, ...invalid.events]);
});

test("stream(): one start, and asyncEnd with the final ack once the stream completes", async () => {
  await withReceiver(answering, async (rx) => {
    const client = clientFor(rx);
    const { value, events } = await traced(async () => {
      const codes = [];
      for await (const ack of client.stream(message("STR1"))) codes.push(ack.code);
      return codes;
    });
    assert.deepEqual(value, ["CA", "AA"]);
    assert.deepEqual(events.map((e) => e.name), ["start", "end", "asyncStart", "asyncEnd"]);
    assert.deepEqual(events[3].snapshot.ack, { code: "AA", controlId: "STR1" });
    assert.equal(events[3].snapshot.controlId, "STR1");
    // A consumer that stops after the CA: asyncEnd still comes, with the last ACK seen.
    const early = await traced(async () => {
      for await (const ack of client.stream(message("STR2"))) if (ack.code === "CA") break;
    });
    assert.deepEqual(early.events.map((e) => e.name), ["start", "end", "asyncStart", "asyncEnd"]);
    assert.deepEqual(early.events[3].snapshot.ack, { code: "CA", controlId: "STR2" });
    assertNoContent([...events, ...early.events]);
  });
});

test("no subscriber: nothing is published and sends work as before", async () => {
  const channel = diagnosticsChannel.tracingChannel("glion:mllp:send");
  assert.equal(channel.start.hasSubscribers, false);
  await withReceiver(answering, async (rx) => {
    assert.equal((await clientFor(rx).send(message("QUIET1"))).code, "AA");
  });
});

// ---------------------------------------------------------------------------------------
// The README recipes, as written there.

test("README recipe: an OpenTelemetry span per send, from the channel (in-memory exporter)", async () => {
  const { trace, SpanStatusCode } = require("@opentelemetry/api");
  const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require("@opentelemetry/sdk-trace-base");
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  trace.setGlobalTracerProvider(provider);

  // --- README "Diagnostics", OpenTelemetry ---
  const tracer = trace.getTracer("@glion/mllp-client");
  const spans = new WeakMap();
  const otelHandlers = {
    start(ctx) {
      spans.set(ctx, tracer.startSpan("mllp send", {
        attributes: { "server.address": ctx.host, "server.port": ctx.port, "mllp.tls": ctx.tls, "mllp.control_id": ctx.controlId, "mllp.bytes": ctx.bytes, "mllp.pooled": ctx.pooled },
      }));
    },
    error(ctx) {
      spans.get(ctx)?.setStatus({ code: SpanStatusCode.ERROR, message: ctx.error?.code });
    },
    asyncEnd(ctx) {
      const span = spans.get(ctx);
      if (ctx.ack) span?.setAttribute("mllp.ack_code", ctx.ack.code);
      span?.end();
    },
  };
  diagnosticsChannel.tracingChannel("glion:mllp:send").subscribe(otelHandlers);
  // --- end of recipe ---

  try {
    await withReceiver(answering, async (rx) => {
      await clientFor(rx).send(message("OT1"));
      await assert.rejects(clientFor(rx).send(message("NAK2")), { code: "AE" });
    });
  } finally {
    diagnosticsChannel.tracingChannel("glion:mllp:send").unsubscribe(otelHandlers);
    trace.disable();
  }
  const finished = exporter.getFinishedSpans();
  assert.equal(finished.length, 2);
  const [ok, nak] = finished;
  assert.equal(ok.name, "mllp send");
  assert.equal(ok.attributes["mllp.control_id"], "OT1");
  assert.equal(ok.attributes["mllp.ack_code"], "AA");
  assert.equal(ok.attributes["server.address"], "127.0.0.1");
  assert.equal(ok.status.code, SpanStatusCode.UNSET);
  assert.equal(nak.attributes["mllp.ack_code"], "AE");
  assert.equal(nak.status.code, SpanStatusCode.ERROR);
  assert.equal(nak.status.message, "AE");
  assert.ok(ok.duration[0] > 0 || ok.duration[1] > 0, "the span covers the send");
  assert.doesNotMatch(JSON.stringify(finished.map((s) => s.attributes)), /ZWEISTEIN|PID\|/);
  await provider.shutdown();
});

test("README recipe: a logger line per send", async () => {
  const lines = [];
  const logger = { info: (line) => lines.push(line) };

  // --- README "Diagnostics", logger ---
  const started = new WeakMap();
  const logHandlers = {
    start: (ctx) => started.set(ctx, performance.now()),
    asyncEnd(ctx) {
      const ms = Math.round(performance.now() - started.get(ctx));
      const outcome = ctx.ack ? ctx.ack.code : ctx.error?.code;
      logger.info(`mllp send ${ctx.host}:${ctx.port} controlId=${ctx.controlId} bytes=${ctx.bytes} -> ${outcome} in ${ms} ms`);
    },
  };
  diagnosticsChannel.tracingChannel("glion:mllp:send").subscribe(logHandlers);
  // --- end of recipe ---

  try {
    await withReceiver(answering, async (rx) => {
      await clientFor(rx).send(message("LOG1"));
      await assert.rejects(clientFor(rx).send(message("NAK3")));
      assert.equal(lines.length, 2);
      assert.match(lines[0], new RegExp(`^mllp send 127\\.0\\.0\\.1:${rx.port} controlId=LOG1 bytes=\\d+ -> AA in \\d+ ms$`));
      assert.match(lines[1], /controlId=NAK3 .* -> AE in/);
    });
  } finally {
    diagnosticsChannel.tracingChannel("glion:mllp:send").unsubscribe(logHandlers);
  }
});
