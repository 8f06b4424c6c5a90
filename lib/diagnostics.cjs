"use strict";
// The "glion:mllp:send" tracing channel (README, "Diagnostics"): every send() and stream()
// publishes start, end, asyncStart, asyncEnd and error with a context
// `{ host, port, tls, controlId, bytes, pooled }`, to which the outcome adds `ack`
// (`{ code, controlId }`) and, when the call failed, `error`. Never message content (PHI).
//
// Shared by the native entries (lib/native-client.cjs) and the Workers entry (lib/workers.mjs).
// With no subscriber a call costs one `hasSubscribers` check: the context (MSH-10, the byte
// count) is only built for a subscriber (bench case "diagnostics", bench/README.md).

const NAME = "glion:mllp:send";

/**
 * `node:diagnostics_channel` where the runtime has one: Node (>= 20.16), Bun, Deno and
 * Workers with nodejs_compat expose it through `process.getBuiltinModule`; older Node
 * entries pass `require("node:diagnostics_channel")` in. Elsewhere (Workers without
 * nodejs_compat) there is no channel and nothing is published.
 */
function lookUpDiagnosticsChannel() {
  try {
    return globalThis.process?.getBuiltinModule?.("node:diagnostics_channel");
  } catch {
    return undefined;
  }
}

const pickAck = (ack) => (ack ? { code: ack.code, controlId: ack.controlId } : undefined);

class SendTracer {
  #channel;
  #parts;

  /** @param diagnosticsChannel the diagnostics_channel module, when the runtime has one */
  constructor(diagnosticsChannel = lookUpDiagnosticsChannel()) {
    this.#channel = diagnosticsChannel?.tracingChannel?.(NAME);
    const c = this.#channel;
    this.#parts = c ? [c.start, c.end, c.asyncStart, c.asyncEnd, c.error] : [];
  }

  /** Whether anyone listens (Bun's TracingChannel has no `hasSubscribers`: ask each channel). */
  get active() {
    const c = this.#channel;
    if (c === undefined) return false;
    const all = c.hasSubscribers;
    if (all !== undefined) return all;
    return this.#parts.some((part) => part.hasSubscribers);
  }

  #settled(context, ack, error) {
    const c = this.#channel;
    if (ack !== undefined) context.ack = ack;
    if (error !== undefined) {
      context.error = error;
      c.error.publish(context);
    }
    c.asyncStart.publish(context);
    c.asyncEnd.publish(context);
  }

  /** Publish around `run()` (a send; resolves with an Ack or rejects). */
  traceSend(context, run) {
    const c = this.#channel;
    c.start.publish(context);
    let pending;
    try {
      pending = run();
    } finally {
      c.end.publish(context);
    }
    return pending.then(
      (ack) => {
        this.#settled(context, pickAck(ack));
        return ack;
      },
      (error) => {
        // A NAK is an AckException: its code and control id are the ACK's.
        this.#settled(context, typeof error?.ack?.code === "string" ? pickAck(error.ack) : undefined, error);
        throw error;
      },
    );
  }

  /** Publish around a stream's ACKs: `ack` is the last one, also when the caller stops early. */
  async *traceStream(context, acks) {
    const c = this.#channel;
    c.start.publish(context);
    c.end.publish(context);
    let last;
    let settled = false;
    try {
      for await (const ack of acks) {
        last = ack;
        yield ack;
      }
    } catch (error) {
      settled = true;
      this.#settled(context, typeof error?.ack?.code === "string" ? pickAck(error.ack) : pickAck(last), error);
      throw error;
    } finally {
      if (!settled) this.#settled(context, pickAck(last));
    }
  }
}

module.exports = { SendTracer, CHANNEL_NAME: NAME };
