"use strict";
// The part every Node client adapter shares: the message template with a unique MSH-10 per
// message, the run loop (at most `count` messages and at most `seconds`, over `concurrency`
// workers, one message in flight per worker), and the per-message latencies.
//
// An adapter is `defineClient({ name, supports, input?, perMessage, connect })`:
//   supports:   { perMessage, persistent, enhanced, tls } (booleans)
//   perMessage(opts) -> async send(text, id): one connection, one message, ACK checked
//   connect(opts)    -> async { send(text, id), close() }: one persistent connection
// where opts = { host, port, enhanced, tls: null | { ca, servername } }. `send` resolves
// once the final ACK (AA; in enhanced mode CA then AA) for `id` is in, and rejects otherwise.
// `text` is a string, or a Buffer when the adapter says `input: "bytes"` (the worker reuses
// that Buffer for its next message once `send` has settled).
// defineClient adds `run(opts, phase)`, the interface the runner uses through worker.js.

const fs = require("node:fs");
const { performance } = require("node:perf_hooks");

const ID_WIDTH = 12;
let nextId = 1;

/** `B` + 11 digits: fixed width, so every client sends messages of the same size. */
function makeId() {
  return "B" + String(nextId++).padStart(ID_WIDTH - 1, "0");
}

/**
 * Split an HL7 file around MSH-10. Returns a factory that gives each worker its own
 * `() => ({ text, id })`. With `input: "bytes"` the message is a Buffer that the worker keeps
 * and rewrites in place (only the 12 id bytes change), as an application holding the
 * message as bytes would: no string is built or encoded per message.
 */
function loadTemplate(file, input = "string") {
  const text = fs.readFileSync(file, "latin1").replace(/\r\n|\n/g, "\r");
  if (!text.startsWith("MSH")) throw new Error(`${file}: does not start with MSH`);
  const sep = text[3];
  const segEnd = text.indexOf("\r") === -1 ? text.length : text.indexOf("\r");
  const at = [];
  for (let i = 0; i < segEnd; i++) if (text[i] === sep) at.push(i);
  if (at.length < 10) throw new Error(`${file}: MSH has no MSH-10`);
  const prefix = text.slice(0, at[8] + 1);
  const suffix = text.slice(at[9]);
  if (input === "bytes") {
    return () => {
      const buf = Buffer.from(prefix + "0".repeat(ID_WIDTH) + suffix, "latin1");
      return () => {
        const id = makeId();
        buf.write(id, prefix.length, "latin1");
        return { text: buf, id };
      };
    };
  }
  const makeMessage = () => {
    const id = makeId();
    return { text: prefix + id + suffix, id };
  };
  return () => makeMessage;
}

/**
 * Check the ACK text(s) of one exchange: MSA-1 is AA (CA then AA in enhanced mode) and
 * MSA-2 is `id`. `acks` is an array of frame contents (strings).
 */
function checkAcks(acks, id, enhanced) {
  const want = enhanced ? ["CA", "AA"] : ["AA"];
  if (acks.length !== want.length) throw new Error(`expected ${want.length} ACK frame(s), got ${acks.length}`);
  acks.forEach((ack, k) => {
    const at = ack.indexOf("\rMSA|");
    const msa = at === -1 ? "" : ack.slice(at + 5, at + 5 + 3 + id.length);
    if (msa !== `${want[k]}|${id}`) throw new Error(`unexpected ACK ${JSON.stringify(ack)}`);
  });
}

function defineClient(adapter) {
  async function run(opts, { mode, concurrency, count, seconds, messages }) {
    if (mode === "persistent" && !adapter.connect) throw new Error(`${adapter.name}: no persistent mode`);
    if (mode === "per-message" && !adapter.perMessage) throw new Error(`${adapter.name}: no per-message mode`);
    const send = mode === "per-message" ? await adapter.perMessage(opts) : null;
    const latencies = [];
    let issued = 0;
    let ok = 0;
    let errors = 0;
    let firstError = null;
    const t0 = performance.now();
    const deadline = t0 + seconds * 1000;
    const next = () => performance.now() < deadline && issued++ < count;
    const fail = (error) => {
      errors++;
      firstError ??= String(error && error.stack ? error.stack.split("\n").slice(0, 3).join(" | ") : error);
    };
    async function worker() {
      const makeMessage = messages();
      let conn = null;
      while (next()) {
        const { text, id } = makeMessage();
        const start = performance.now();
        try {
          if (send) {
            await send(text, id);
          } else {
            conn ??= await adapter.connect(opts);
            await conn.send(text, id);
          }
          latencies.push((performance.now() - start) * 1000);
          ok++;
        } catch (error) {
          fail(error);
          if (conn) {
            // A connection that failed once is not trusted again (a late ACK).
            await Promise.resolve(conn.close()).catch(() => {});
            conn = null;
          }
        }
      }
      if (conn) await conn.close();
    }
    await Promise.all(Array.from({ length: concurrency }, worker));
    const elapsedS = (performance.now() - t0) / 1000;
    if (adapter.dispose) await adapter.dispose();
    return { ok, errors, firstError, elapsedS, latencies };
  }
  return { ...adapter, run };
}

module.exports = { defineClient, loadTemplate, checkAcks, makeId, ID_WIDTH };
