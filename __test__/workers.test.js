"use strict";
// The Cloudflare Workers entry (`lib/workers.mjs`) in a real worker, in local workerd (Miniflare),
// sending to `node:net` receivers written here on 127.0.0.1. The worker is bundled with
// esbuild the way wrangler bundles it (browser platform, workerd/worker/browser conditions,
// ESM, `cloudflare:*` external), runs without `nodejs_compat` (so nothing Node-only can hide
// in the entry), takes its instructions as JSON and answers with the outcome as JSON.
//
// A second worker runs the shared JSON vectors (__test__/vectors/) through `@glion/ack` and
// `@glion/ack/wire` inside workerd: the JS framing and ACK parsing pass them in that runtime.
//
// One Miniflare instance for the file (workerd start-up is slow), disposed at the end.
// Flat top-level test() calls.

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const net = require("node:net");
const path = require("node:path");
const readline = require("node:readline");
const esbuild = require("esbuild");
const { Miniflare } = require("miniflare");
const { startRawReceiver, frame, ackFor, sleep } = require("./helpers.js");

const ROOT = path.join(__dirname, "..");

// ---------------------------------------------------------------------------------------
// The workers.

/**
 * esbuild settings as wrangler uses them for a Worker. `keepNames` is wrangler's default
 * (`keep_names = true`); without it esbuild renames the @glion/ack classes it hoists
 * (`AckApplicationError2`), and their `name`, taken from `new.target.name`, follows.
 */
const WRANGLER_LIKE = {
  bundle: true,
  keepNames: true,
  format: "esm",
  platform: "browser",
  conditions: ["workerd", "worker", "browser"],
  external: ["cloudflare:*"],
  write: false,
  metafile: true,
  logLevel: "silent",
};

// A spy between lib/workers.mjs and `cloudflare:sockets`: records every connect() (address,
// options) and every close() of its socket, so each test can check that the socket was closed.
const SOCKET_SPY = `
import { connect as realConnect } from "cloudflare:sockets";
const spy = (globalThis.__socketSpy ??= { sockets: [] });
export function connect(address, options) {
  const record = { address, options, closeCalls: 0 };
  spy.sockets.push(record);
  const socket = realConnect(address, options);
  return {
    get opened() { return socket.opened; },
    get closed() { return socket.closed; },
    get readable() { return socket.readable; },
    get writable() { return socket.writable; },
    close() { record.closeCalls++; return socket.close(); },
    startTls(options) { return socket.startTls(options); },
  };
}
`;

const spyPlugin = {
  name: "socket-spy",
  setup(build) {
    build.onResolve({ filter: /^cloudflare:sockets$/ }, (args) =>
      args.namespace === "socket-spy" ? { path: args.path, external: true } : { path: "socket-spy", namespace: "socket-spy" },
    );
    build.onLoad({ filter: /.*/, namespace: "socket-spy" }, () => ({ contents: SOCKET_SPY, loader: "js" }));
  },
};

// The client worker. POST a JSON instruction:
//   { op: "send" | "stream" | "construct", options, message | messageLatin1, call?, breakAfter?, abortAfter? }
// Answers { ok, ack | acks, error, sockets, timersLeft, constructed }.
const CLIENT_WORKER = `
import * as entry from "../lib/workers.mjs";
import { MllpClient, MllpClientError, AckException, AckApplicationError, AckApplicationReject,
  AckCommitError, AckCommitReject, AckParseError, parseAck, buildAck } from "../lib/workers.mjs";

// Count live timers: every timer lib/workers.mjs starts must be cleared (or have fired) by the
// time a call settles.
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
const live = new Set();
globalThis.setTimeout = (fn, ms, ...args) => {
  const id = realSetTimeout(() => { live.delete(id); fn(...args); }, ms);
  live.add(id);
  return id;
};
globalThis.clearTimeout = (id) => { live.delete(id); realClearTimeout(id); };

function bytesOf(latin1) {
  return Uint8Array.from(latin1, (c) => c.charCodeAt(0));
}

function describe(error, reason) {
  if (!(error instanceof Error)) return { notAnError: true, value: String(error), isReason: error === reason };
  return {
    name: error.name,
    className: error.constructor.name,
    message: error.message,
    code: error.code,
    sent: error.sent,
    cause: error.cause === undefined ? undefined : String(error.cause?.message ?? error.cause),
    errorCode: error.errorCode,
    severity: error.severity,
    controlId: error.controlId,
    raw: error.raw,
    ack: error.ack,
    errors: error.errors,
    isReason: reason !== undefined && error === reason,
    isMllpClientError: error instanceof MllpClientError,
    isAckException: error instanceof AckException,
    isAckApplicationError: error instanceof AckApplicationError,
    isAckApplicationReject: error instanceof AckApplicationReject,
    isAckCommitError: error instanceof AckCommitError,
    isAckCommitReject: error instanceof AckCommitReject,
  };
}

/** With nodejs_compat: subscribe to the diagnostics channel and record every event. */
function traceEvents() {
  const dc = globalThis.process?.getBuiltinModule?.("node:diagnostics_channel");
  if (!dc) return null;
  const channel = dc.tracingChannel("glion:mllp:send");
  const events = [];
  const record = (name) => (context) => events.push({ name, context: { ...context, error: context.error && { code: context.error.code, name: context.error.name } } });
  const handlers = Object.fromEntries(["start", "end", "asyncStart", "asyncEnd", "error"].map((n) => [n, record(n)]));
  channel.subscribe(handlers);
  return { events, stop: () => channel.unsubscribe(handlers) };
}

async function run(job) {
  const spy = (globalThis.__socketSpy ??= { sockets: [] });
  spy.sockets.length = 0;
  live.clear();
  const out = { ok: false };
  const trace = job.trace ? traceEvents() : null;
  try {
    return await runJob(job, out);
  } finally {
    if (job.trace) out.events = trace?.events ?? "no diagnostics_channel";
    trace?.stop();
  }
}

async function runJob(job, out) {
  const spy = globalThis.__socketSpy;
  let reason;
  let client;
  try {
    client = new MllpClient(job.options);
    out.constructed = true;
    out.options = client.options;
  } catch (error) {
    out.constructed = false;
    out.error = describe(error);
  }
  if (client && job.op !== "construct") {
    let message = job.messageLatin1 !== undefined ? bytesOf(job.messageLatin1) : job.message;
    if (job.detach) {
      // a view whose buffer was transferred away: its bytes are gone
      message = bytesOf(job.message);
      structuredClone(message.buffer, { transfer: [message.buffer] });
    }
    const call = { ...job.call };
    if (job.signalLike === "noRemove") call.signal = { aborted: false, addEventListener() {} };
    if (job.signalLike === "noAborted") call.signal = { addEventListener() {}, removeEventListener() {} };
    if (job.signalLike === "string") call.signal = "abort";
    let controller;
    if (job.abortAfter !== undefined) {
      controller = new AbortController();
      reason = new Error("caller gave up");
      call.signal = controller.signal;
      realSetTimeout(() => controller.abort(reason), job.abortAfter);
    }
    try {
      if (job.op === "send") {
        out.ack = await client.send(message, call);
      } else {
        out.acks = [];
        for await (const ack of client.stream(message, call)) {
          out.acks.push(ack);
          if (job.breakAfter !== undefined && out.acks.length >= job.breakAfter) break;
        }
      }
      out.ok = true;
    } catch (error) {
      out.error = describe(error, reason);
    }
    if (job.closeAfter) out.closeResult = await client.close().then(() => "resolved", (e) => "rejected: " + e.message);
  }
  out.timersLeft = live.size;
  out.sockets = spy.sockets.map((s) => ({ ...s }));
  return out;
}

export default {
  async fetch(request) {
    const job = await request.json();
    if (job.op === "exports") {
      return Response.json({
        names: Object.keys(entry).sort(),
        parsed: parseAck("MSH|^~\\\\&|A|B|C|D|20260101||ACK|X|P|2.5\\rMSA|AA|M1").controlId,
        built: buildAck("MSH|^~\\\\&|A|B|C|D|20260101||ADT^A01|M1|P|2.5", "AA", { controlId: "A1", timestamp: "20260101" }).split("\\r")[1],
        parseError: AckParseError.name,
        hasBuffer: typeof globalThis.Buffer !== "undefined",
        hasProcess: typeof globalThis.process !== "undefined",
      });
    }
    return Response.json(await run(job));
  },
};
`;

// The vectors worker: runs the three vector files through @glion/ack and @glion/ack/wire.
const VECTORS_WORKER = `
import { FrameDecoder, prepareMessage, decodeText, encodeText } from "@glion/ack/wire";
import { parseAck, AckParseError } from "@glion/ack";

import chunking from "./vectors/chunking.js";

const { bytesOf, latin1Of, splits } = chunking;
const undefinedToNull = (v) =>
  v === undefined || v === null ? null
  : Array.isArray(v) ? v.map(undefinedToNull)
  : typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, undefinedToNull(x)]))
  : v;
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const sortKeys = (v) =>
  Array.isArray(v) ? v.map(sortKeys)
  : v && typeof v === "object" ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]))
  : v;


function decode(c, chunks) {
  const decoder = new FrameDecoder(c.maxFrameBytes === undefined ? undefined : { maxFrameBytes: c.maxFrameBytes });
  const frames = [];
  for (const chunk of chunks) {
    const copy = chunk.slice();
    try {
      for (const f of decoder.push(copy)) frames.push(latin1Of(f));
    } catch (error) {
      if (error.code !== "MALFORMED_FRAME") throw error;
      for (const f of error.frames) frames.push(latin1Of(f));
      return { frames, error: error.code, eof: null };
    } finally {
      copy.fill(0x21); // emitted frames must not alias the chunk
    }
  }
  let eof;
  try {
    const last = decoder.end();
    if (last === null) eof = "clean";
    else {
      frames.push(latin1Of(last));
      eof = "frame";
    }
  } catch (error) {
    if (error.code !== "CONNECTION_CLOSED") throw error;
    eof = "truncated";
  }
  return { frames, error: null, eof };
}

function check(cases, one) {
  const result = { total: cases.length, passed: 0, failures: [] };
  for (const c of cases) {
    try {
      const problem = one(c);
      if (problem) result.failures.push(c.name + ": " + problem);
      else result.passed++;
    } catch (error) {
      result.failures.push(c.name + ": threw " + error.message);
    }
  }
  return result;
}

export default {
  async fetch(request) {
    const { frames, ack, messages } = await request.json();
    return Response.json({
      frames: check(frames, (c) => {
        for (const [mode, seed] of [["whole"], ["bytes"], ["random", 1], ["random", 2], ["random", 3]]) {
          const got = decode(c, splits(bytesOf(c.input), mode, seed));
          const want = { frames: c.frames, error: c.error, eof: c.error === null ? c.eof : null };
          if (!same(got, want)) return mode + (seed ?? "") + ": got " + JSON.stringify(got);
        }
      }),
      ack: check(ack, (c) => {
        if (c.error) {
          try {
            parseAck(c.raw);
          } catch (error) {
            return error instanceof AckParseError && error.code === c.error ? undefined : "wrong error " + error.message;
          }
          return "parsed, expected " + c.error;
        }
        const parsed = parseAck(c.raw);
        const { raw, ...fields } = parsed;
        if (raw !== c.raw) return "raw differs";
        for (const key of ["code", "controlId", "message", "errorCode", "severity", "errors"]) {
          if (!(key in parsed) || parsed[key] === null) return "key " + key + " missing or null";
        }
        if (!same(sortKeys(undefinedToNull(fields)), sortKeys(c.ack))) return "got " + JSON.stringify(undefinedToNull(fields));
        // the way the client decodes a received frame: bytes -> text -> parseAck
        if (parseAck(decodeText(encodeText(c.raw, "utf8"), "utf8")).raw !== c.raw) return "utf8 round trip differs";
      }),
      messages: check(messages, (c) => {
        const input = c.inputKind === "bytes" ? bytesOf(c.input) : c.input;
        if (c.error) {
          try {
            prepareMessage(input, c.encoding);
          } catch (error) {
            return error.code === c.error && error.message ? undefined : "wrong error " + error.message;
          }
          return "prepared, expected " + c.error;
        }
        const got = prepareMessage(input, c.encoding);
        if (!(got.bytes instanceof Uint8Array)) return "bytes is not a Uint8Array";
        if (latin1Of(got.bytes) !== c.wire) return "wire differs: " + JSON.stringify(latin1Of(got.bytes));
        if (got.controlId !== c.controlId) return "controlId " + JSON.stringify(got.controlId);
      }),
    });
  },
};
`;

async function bundle(contents, sourcefile, plugins = []) {
  const result = await esbuild.build({
    ...WRANGLER_LIKE,
    stdin: { contents, resolveDir: __dirname, sourcefile, loader: "js" },
    plugins,
  });
  return result.outputFiles[0].text;
}

// workerd's own diagnostics go to the test output, except the two lines it prints for the
// failed TLS handshake that one test provokes on purpose (the Worker itself only sees
// "proxy request failed, cannot connect to the specified address").
const EXPECTED_RUNTIME_NOISE = /Socket proxy disconnected abruptly|^stack: (\S*workerd@\w+\s*)+$/;

function forwardRuntimeOutput(stdout, stderr) {
  for (const [stream, target] of [[stdout, process.stdout], [stderr, process.stderr]]) {
    readline.createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => {
      if (!EXPECTED_RUNTIME_NOISE.test(line)) target.write(`${line}\n`);
    });
  }
}

async function setUp() {
  const [client, vectors] = await Promise.all([
    bundle(CLIENT_WORKER, "client-worker.js", [spyPlugin]),
    bundle(VECTORS_WORKER, "vectors-worker.js"),
  ]);
  const mf = new Miniflare({
    handleRuntimeStdio: forwardRuntimeOutput,
    workers: [
      { name: "client", modules: true, script: client, compatibilityDate: "2025-01-01" },
      { name: "client-nodejs-compat", modules: true, script: client, compatibilityDate: "2025-01-01", compatibilityFlags: ["nodejs_compat"] },
      { name: "vectors", modules: true, script: vectors, compatibilityDate: "2025-01-01" },
    ],
  });
  await mf.ready;
  return mf;
}

const ready = setUp();
ready.catch(() => {}); // reported by the first test that awaits it

test.after(async () => {
  const mf = await ready.catch(() => null);
  await mf?.dispose();
});

/**
 * Run one instruction in the client worker (or the same worker under `nodejs_compat`);
 * resolves with its JSON answer and the time taken.
 */
async function inWorker(job, { nodejsCompat = false } = {}) {
  const mf = await ready;
  const started = Date.now();
  const init = { method: "POST", body: JSON.stringify(job) };
  const response = nodejsCompat
    ? await (await mf.getWorker("client-nodejs-compat")).fetch("http://worker.test/", init)
    : await mf.dispatchFetch("http://worker.test/", init);
  const text = await response.text();
  assert.equal(response.status, 200, `worker answered ${response.status}: ${text}`);
  return { ...JSON.parse(text), elapsed: Date.now() - started };
}

// ---------------------------------------------------------------------------------------
// Messages and receivers.

// The spec's message, segments joined by \r (MSH-10 = MSG00001).
const MESSAGE = [
  "MSH|^~\\&|SENDER|FACILITY|RECEIVER|FACILITY|20260510120000||ADT^A01^ADT_A01|MSG00001|P|2.5",
  "EVN|A01|20260510120000",
  "PID|1||PATID1234^^^FACILITY^MR||DOE^JOHN^M||19800101|M",
].join("\r");

const optionsFor = (rx, extra = {}) => ({ host: "127.0.0.1", port: rx.port, tls: false, ackTimeout: 5000, ...extra });

/**
 * A receiver whose sockets record every byte (`socket.received`) and whose `onFrame(socket,
 * frameText)` runs for each complete frame. `socket.ended` resolves when the client closes
 * its side (FIN or reset).
 */
async function receiver(onFrame = () => {}, onConnection = () => {}) {
  return startRawReceiver((socket) => {
    socket.received = Buffer.alloc(0);
    socket.ended = new Promise((resolve) => {
      socket.once("end", resolve);
      socket.once("close", resolve);
    });
    let pending = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      socket.received = Buffer.concat([socket.received, chunk]);
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const start = pending.indexOf(0x0b);
        const end = pending.indexOf(Buffer.from([0x1c, 0x0d]), start);
        if (start === -1 || end === -1) break;
        const text = pending.subarray(start + 1, end).toString("latin1");
        pending = pending.subarray(end + 2);
        onFrame(socket, text);
      }
    });
    onConnection(socket);
  });
}

/** Resolves true when `promise` settles within `ms`, false otherwise. */
async function within(promise, ms) {
  let timer;
  const late = new Promise((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Every socket the worker opened was closed, and no timer of lib/workers.mjs is left running. */
function assertCleanedUp(out, sockets = 1) {
  assert.equal(out.sockets.length, sockets, `connect() calls: ${JSON.stringify(out.sockets)}`);
  for (const s of out.sockets) {
    assert.ok(s.closeCalls >= 1, "the socket was closed");
    assert.deepEqual(s.options, { secureTransport: s.options.secureTransport, allowHalfOpen: false });
  }
  assert.equal(out.timersLeft, 0, "every timer was cleared");
}

/** A port on 127.0.0.1 where nothing listens. */
async function closedPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// ---------------------------------------------------------------------------------------
// The bundle.

test("the workers entry bundles for workerd from web APIs only: no node: import, no Buffer", async () => {
  const result = await esbuild.build({ ...WRANGLER_LIKE, entryPoints: [path.join(ROOT, "lib", "workers.mjs")] });
  const inputs = Object.keys(result.metafile.inputs).map((p) => path.relative(ROOT, path.resolve(p)).split(path.sep).join("/"));
  for (const input of inputs) {
    assert.match(input, /^(lib\/workers\.mjs|lib\/workers-outbox\.mjs|lib\/[\w-]+\.cjs|ack\/[\w-]+\.(cjs|mjs))$/, `unexpected module in the bundle: ${input}`);
  }
  for (const needed of ["lib/workers.mjs", "lib/errors.cjs", "lib/options.cjs", "ack/index.cjs", "ack/wire.cjs"]) {
    assert.ok(inputs.includes(needed), `${needed} is bundled`);
  }
  const output = Object.values(result.metafile.outputs)[0];
  const externals = output.imports.filter((i) => i.external).map((i) => i.path);
  assert.deepEqual([...new Set(externals)], ["cloudflare:sockets"]);
  // The one Node name in the bundle is the diagnostics channel, looked up only where the
  // runtime offers it (process.getBuiltinModule: Workers with nodejs_compat), never imported.
  const lookup = 'globalThis.process?.getBuiltinModule?.("node:diagnostics_channel")';
  assert.ok(result.outputFiles[0].text.includes(lookup), "lib/diagnostics.cjs looks the channel up");
  const code = result.outputFiles[0].text.replace(lookup, "");
  assert.doesNotMatch(code, /\bBuffer\b/);
  assert.doesNotMatch(code, /["']node:/);
  assert.doesNotMatch(code, /\bprocess\./);
});

test("exports: MllpClient, MllpClientError and everything from @glion/ack, in workerd without nodejs_compat", async () => {
  const out = await inWorker({ op: "exports" });
  for (const name of ["MllpClient", "MllpClientError", "AckException", "AckApplicationError", "AckApplicationReject",
    "AckCommitError", "AckCommitReject", "UnsupportedMessageTypeReject", "ApplicationInternalError",
    "CommitInternalError", "AckParseError", "parseAck", "buildAck", "exceptionFromAck", "escapeHl7", "unescapeHl7",
    "ACK_CODES", "DEFAULT_DELIMITERS"]) {
    assert.ok(out.names.includes(name), `exports ${name}`);
  }
  assert.equal(out.parsed, "M1");
  assert.equal(out.built, "MSA|AA|M1");
  assert.equal(out.hasBuffer, false, "the worker runs without Node.js compatibility");
});

// ---------------------------------------------------------------------------------------
// send()

test("AA: the receiver gets exactly 0x0B + message + 0x1C 0x0D, send() resolves with the Ack, the socket is closed", async () => {
  const rx = await receiver((socket, text) => socket.write(frame(ackFor(text, "AA", "|Message accepted"))));
  try {
    const out = await inWorker({ op: "send", options: optionsFor(rx), message: MESSAGE });
    assert.equal(out.ok, true, JSON.stringify(out.error));
    assert.deepEqual(out.ack, {
      code: "AA",
      controlId: "MSG00001",
      message: "Message accepted",
      errors: [],
      raw: ackFor(MESSAGE, "AA", "|Message accepted"),
    }); // errorCode/severity are undefined (absent in JSON)
    assert.equal(rx.connections.length, 1);
    const [socket] = rx.connections;
    assert.ok(await within(socket.ended, 2000), "the worker closed the connection");
    assert.deepEqual(socket.received, Buffer.concat([Buffer.from([0x0b]), Buffer.from(MESSAGE, "utf8"), Buffer.from([0x1c, 0x0d])]));
    assertCleanedUp(out);
    assert.deepEqual(out.sockets[0].address, { hostname: "127.0.0.1", port: rx.port });
    assert.equal(out.sockets[0].options.secureTransport, "off");
    assert.equal(out.options.tls, false);
  } finally {
    await rx.close();
  }
});

test("AE with ERR: rejects with AckApplicationError (an AckException, not an MllpClientError) and its fields", async () => {
  const extra = "|Patient not found\rERR||PID^1^3|204^Unknown key identifier^HL70357|E";
  const rx = await receiver((socket, text) => socket.write(frame(ackFor(text, "AE", extra))));
  try {
    const out = await inWorker({ op: "send", options: optionsFor(rx), message: MESSAGE });
    assert.equal(out.ok, false);
    const e = out.error;
    assert.equal(e.isAckApplicationError, true);
    assert.equal(e.isAckException, true);
    assert.equal(e.isMllpClientError, false);
    assert.equal(e.name, "AckApplicationError");
    assert.equal(e.code, "AE");
    assert.equal(e.message, "Patient not found");
    assert.equal(e.errorCode, "204");
    assert.equal(e.severity, "E");
    assert.equal(e.controlId, "MSG00001");
    assert.equal(e.raw, ackFor(MESSAGE, "AE", extra));
    assert.deepEqual(e.errors, [{ errorCode: "204", errorText: "Unknown key identifier", severity: "E", location: "PID^1^3" }]);
    assert.equal(e.ack.code, "AE");
    assertCleanedUp(out);
  } finally {
    await rx.close();
  }
});

test("a NAK with an empty MSA-2 is surfaced as the NAK, not as a control id mismatch", async () => {
  const ack = "MSH|^~\\&|R|F|S|F|20260510120001||ACK|A1|P|2.5\rMSA|AR||Cannot parse the message";
  const rx = await receiver((socket) => socket.write(frame(ack)));
  try {
    const out = await inWorker({ op: "send", options: optionsFor(rx), message: MESSAGE });
    assert.equal(out.error.isAckApplicationReject, true, JSON.stringify(out.error));
    assert.equal(out.error.message, "Cannot parse the message");
    assertCleanedUp(out);
  } finally {
    await rx.close();
  }
});

test("CONNECTION_REFUSED: nothing listens on the port (sent: false)", async () => {
  const port = await closedPort();
  const out = await inWorker({ op: "send", options: { host: "127.0.0.1", port, tls: false }, message: MESSAGE });
  assert.equal(out.ok, false);
  assert.equal(out.error.isMllpClientError, true);
  assert.equal(out.error.name, "MllpClientError");
  assert.equal(out.error.code, "CONNECTION_REFUSED", out.error.message);
  assert.equal(out.error.sent, false);
  assert.match(out.error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
  assertCleanedUp(out);
});

test("TIMEOUT: the receiver reads the message and never answers (ackTimeout 300, sent: true)", async () => {
  const rx = await receiver();
  try {
    const out = await inWorker({ op: "send", options: optionsFor(rx, { ackTimeout: 300 }), message: MESSAGE });
    assert.equal(out.error.isMllpClientError, true);
    assert.equal(out.error.code, "TIMEOUT", out.error.message);
    assert.equal(out.error.sent, true);
    assert.match(out.error.message, /ackTimeout \(300 ms\)/);
    assert.ok(out.elapsed >= 290, `waited ${out.elapsed} ms`);
    assert.ok(out.elapsed < 3000, `gave up after ${out.elapsed} ms`);
    assert.ok(await within(rx.connections[0].ended, 2000), "the connection was closed on timeout");
    assertCleanedUp(out);
  } finally {
    await rx.close();
  }
});

test("TIMEOUT: the per-call ackTimeout overrides the client's", async () => {
  const rx = await receiver();
  try {
    const out = await inWorker({ op: "send", options: optionsFor(rx, { ackTimeout: 30000 }), message: MESSAGE, call: { ackTimeout: 200 } });
    assert.equal(out.error.code, "TIMEOUT", out.error.message);
    assert.ok(out.elapsed < 3000, `gave up after ${out.elapsed} ms`);
    assertCleanedUp(out);
  } finally {
    await rx.close();
  }
});

test("TIMEOUT: connectTimeout covers the TLS handshake of a receiver that never answers it (sent: false)", async () => {
  const rx = await receiver(); // accepts TCP, reads the ClientHello, says nothing
  try {
    const out = await inWorker({ op: "send", options: { host: "127.0.0.1", port: rx.port, connectTimeout: 300, ackTimeout: 5000 }, message: MESSAGE });
    assert.equal(out.error.code, "TIMEOUT", out.error.message);
    assert.equal(out.error.sent, false);
    assert.match(out.error.message, /connectTimeout \(300 ms\)/);
    assert.ok(out.elapsed < 3000, `gave up after ${out.elapsed} ms`);
    assert.equal(out.sockets[0].options.secureTransport, "on", "TLS is the default");
    assertCleanedUp(out);
  } finally {
    await rx.close();
  }
});

test("TLS by default: secureTransport \"on\"; a plain-TCP receiver fails the handshake before anything is sent", async () => {
  const rx = await receiver(() => {}, (socket) => socket.once("data", () => socket.end("not TLS\r\n")));
  try {
    const out = await inWorker({ op: "send", options: { host: "127.0.0.1", port: rx.port, tls: true }, message: MESSAGE });
    assert.equal(out.ok, false);
    assert.equal(out.sockets[0].options.secureTransport, "on");
    assert.equal(rx.connections[0].received[0], 0x16, "the receiver got a TLS ClientHello");
    // workerd reports a failed handshake with the same text as a refused connection
    // ("proxy request failed, cannot connect to the specified address"), so this is the
    // best-effort mapping: TLS_ERROR when the runtime names TLS, else CONNECTION_REFUSED.
    assert.ok(["TLS_ERROR", "CONNECTION_REFUSED"].includes(out.error.code), out.error.code);
    assert.equal(out.error.sent, false);
    assertCleanedUp(out);
  } finally {
    await rx.close();
  }
});

test("MALFORMED_ACK: MSA-2 does not match MSH-10 (sent: true)", async () => {
  const rx = await receiver((socket) => socket.write(frame("MSH|^~\\&|R|F|S|F|20260510120001||ACK|A1|P|2.5\rMSA|AA|SOMETHINGELSE")));
  try {
    const out = await inWorker({ op: "send", options: optionsFor(rx), message: MESSAGE });
    assert.equal(out.error.isMllpClientError, true);
    assert.equal(out.error.code, "MALFORMED_ACK", out.error.message);
    assert.equal(out.error.sent, true);
    assert.match(out.error.message, /SOMETHINGELSE/);
    assertCleanedUp(out);
  } finally {
    await rx.close();
  }
});

test("verifyControlId: false accepts the mismatching ACK; MSA-2 is compared trimmed", async () => {
  const rx = await receiver((socket) => socket.write(frame("MSH|^~\\&|R|F|S|F|20260510120001||ACK|A1|P|2.5\rMSA|AA|OTHER")));
  const rx2 = await receiver((socket) => socket.write(frame("MSH|^~\\&|R|F|S|F|20260510120001||ACK|A1|P|2.5\rMSA|AA| MSG00001 ")));
  try {
    const out = await inWorker({ op: "send", options: optionsFor(rx, { verifyControlId: false }), message: MESSAGE });
    assert.equal(out.ok, true, JSON.stringify(out.error));
    assert.equal(out.ack.controlId, "OTHER");
    const spaced = await inWorker({ op: "send", options: optionsFor(rx2), message: MESSAGE.replace("|MSG00001|", "| MSG00001|") });
    assert.equal(spaced.ok, true, JSON.stringify(spaced.error));
    assert.equal(spaced.ack.controlId, "MSG00001");
  } finally {
    await rx.close();
    await rx2.close();
  }
});

test("a batch (FHS/BHS) is sent and its ACK's MSA-2 is not checked", async () => {
  const batch = ["FHS|^~\\&|SENDER|FACILITY|RECEIVER|FACILITY|20260510120000||F1", "BHS|^~\\&|SENDER|FACILITY", MESSAGE, "BTS|1", "FTS|1"].join("\r");
  const rx = await receiver((socket) => socket.write(frame("MSH|^~\\&|R|F|S|F|20260510120001||ACK|A1|P|2.5\rMSA|AA|BATCH-ACK")));
  try {
    const out = await inWorker({ op: "send", options: optionsFor(rx), message: batch });
    assert.equal(out.ok, true, JSON.stringify(out.error));
    assert.equal(out.ack.controlId, "BATCH-ACK");
    assert.equal(rx.connections[0].received.subarray(1, -2).toString("utf8"), batch);
    assertCleanedUp(out);
  } finally {
    await rx.close();
  }
});

test("a batch answered by a batch of ACKs ([FHS] BHS {MSH MSA [ERR]} BTS [FTS]): the first MSA decides, raw is the whole frame", async () => {
  const batch = ["BHS|^~\\&|SENDER|FACILITY", MESSAGE, MESSAGE.replace("MSG00001", "MSG00002"), "BTS|2"].join("\r");
  const acks = (first) =>
    ["FHS|^~\\&|R|F", "BHS|^~\\&|R|F", `MSH|^~\\&|R|F|S|F|20260510120001||ACK|A1|P|2.5\rMSA|${first}|MSG00001\rERR||PID^3|204^Unknown key^HL70357|E`,
      "MSH|^~\\&|R|F|S|F|20260510120001||ACK|A2|P|2.5\rMSA|AA|MSG00002", "BTS|2", "FTS|1"].join("\r");
  for (const first of ["AA", "AE"]) {
    const rx = await receiver((socket) => socket.write(frame(acks(first))));
    try {
      const out = await inWorker({ op: "send", options: optionsFor(rx), message: batch });
      if (first === "AA") {
        assert.equal(out.ok, true, JSON.stringify(out.error));
        assert.equal(out.ack.code, "AA");
        assert.equal(out.ack.controlId, "MSG00001");
        assert.equal(out.ack.raw, acks(first));
      } else {
        assert.equal(out.error.isAckApplicationError, true, JSON.stringify(out.error));
        assert.equal(out.error.errorCode, "204");
        assert.equal(out.error.raw, acks(first));
      }
      assertCleanedUp(out);
    } finally {
      await rx.close();
    }
  }
});

test("MALFORMED_ACK: a frame that is not an ACK", async () => {
  const rx = await receiver((socket) => socket.write(frame("MSH|^~\\&|R|F|S|F|20260510120001||ACK|A1|P|2.5\rPID|1")));
  try {
    const out = await inWorker({ op: "send", options: optionsFor(rx), message: MESSAGE });
    assert.equal(out.error.code, "MALFORMED_ACK", out.error.message);
    assert.equal(out.error.sent, true);
    assertCleanedUp(out);
  } finally {
    await rx.close();
  }
});

test("MALFORMED_FRAME: the receiver answers with bytes that are not MLLP framing", async () => {
  const rx = await receiver((socket) => socket.write("HTTP/1.1 400 Bad Request\r\n\r\n"));
  try {
    const out = await inWorker({ op: "send", options: optionsFor(rx), message: MESSAGE });
    assert.equal(out.error.isMllpClientError, true);
    assert.equal(out.error.code, "MALFORMED_FRAME", out.error.message);
    assert.equal(out.error.sent, true);
    assertCleanedUp(out);
  } finally {
    await rx.close();
  }
});

test("MALFORMED_FRAME: an ACK frame over maxFrameBytes", async () => {
  const rx = await receiver((socket, text) => socket.write(frame(ackFor(text, "AA", `|${"x".repeat(600)}`))));
  try {
    const out = await inWorker({ op: "send", options: optionsFor(rx, { maxFrameBytes: 256 }), message: MESSAGE });
    assert.equal(out.error.code, "MALFORMED_FRAME", out.error.message);
    assert.match(out.error.message, /maxFrameBytes/);
    assertCleanedUp(out);
  } finally {
    await rx.close();
  }
});

test("CONNECTION_CLOSED: the receiver closes (or resets) without an ACK, or in the middle of one (sent: true)", async () => {
  const receivers = [
    await receiver((socket) => socket.end()),
    await receiver((socket, text) => socket.end(frame(ackFor(text)).subarray(0, 20))),
    await receiver((socket) => socket.resetAndDestroy()),
  ];
  try {
    for (const r of receivers) {
      const out = await inWorker({ op: "send", options: optionsFor(r), message: MESSAGE });
      assert.equal(out.error.isMllpClientError, true, JSON.stringify(out.error));
      assert.equal(out.error.code, "CONNECTION_CLOSED", out.error.message);
      assert.equal(out.error.sent, true);
      assertCleanedUp(out);
    }
  } finally {
    for (const r of receivers) await r.close();
  }
});

test("an ACK split over many writes, after padding, and without its final CR at EOF is still read", async () => {
  const rx = await receiver(async (socket, text) => {
    const bytes = Buffer.concat([Buffer.from("\r\n\0 "), frame(ackFor(text))]);
    const withoutCr = bytes.subarray(0, bytes.length - 1);
    for (let at = 0; at < withoutCr.length; at += 7) {
      socket.write(withoutCr.subarray(at, at + 7));
      await sleep(1);
    }
    socket.end();
  });
  try {
    const out = await inWorker({ op: "send", options: optionsFor(rx), message: MESSAGE });
    assert.equal(out.ok, true, JSON.stringify(out.error));
    assert.equal(out.ack.code, "AA");
    assertCleanedUp(out);
  } finally {
    await rx.close();
  }
});

test("encoding latin1: the message goes out as ISO-8859-1 bytes and the ACK is decoded the same way", async () => {
  const message = MESSAGE.replace("DOE^JOHN", "DUPRÉ^JOSÉ");
  const rx = await receiver((socket, text) => socket.write(frame(Buffer.from(ackFor(text, "AA", "|Reçu"), "latin1"))));
  try {
    const out = await inWorker({ op: "send", options: optionsFor(rx, { encoding: "latin1" }), message });
    assert.equal(out.ok, true, JSON.stringify(out.error));
    assert.equal(out.ack.message, "Reçu");
    const received = rx.connections[0].received;
    assert.deepEqual(received.subarray(1, received.length - 2), Buffer.from(message, "latin1"));
  } finally {
    await rx.close();
  }
});

test("\\n and \\r\\n segment ends go out as \\r; a Uint8Array message is sent as its bytes", async () => {
  const rx = await receiver((socket, text) => socket.write(frame(ackFor(text))));
  try {
    const out = await inWorker({ op: "send", options: optionsFor(rx), message: MESSAGE.replace("\r", "\n").replace("\r", "\r\n") + "\n" });
    assert.equal(out.ok, true, JSON.stringify(out.error));
    assert.deepEqual(rx.connections[0].received.subarray(1, -2).toString("utf8"), `${MESSAGE}\r`);
    const bytes = await inWorker({ op: "send", options: optionsFor(rx), messageLatin1: MESSAGE });
    assert.equal(bytes.ok, true, JSON.stringify(bytes.error));
    assert.deepEqual(rx.connections[1].received.subarray(1, -2).toString("latin1"), MESSAGE);
  } finally {
    await rx.close();
  }
});

test("a bad message rejects send() and the first next() of stream() with INVALID_INPUT, before any socket", async () => {
  const rx = await receiver();
  try {
    for (const [op, message] of [["send", "PID|1||123"], ["send", "MSH|^~\\&|\x0bX"], ["stream", ""], ["send", 42]]) {
      const out = await inWorker({ op, options: optionsFor(rx), message });
      assert.equal(out.constructed, true);
      assert.equal(out.error.isMllpClientError, true, `${op} ${JSON.stringify(message)}`);
      assert.equal(out.error.code, "INVALID_INPUT", `${op} ${JSON.stringify(message)}: ${out.error.message}`);
      assert.equal(out.error.sent, false);
      assert.equal(out.sockets.length, 0, "no socket was opened");
    }
    await sleep(50);
    assert.equal(rx.connections.length, 0, "the receiver saw no connection");
  } finally {
    await rx.close();
  }
});

test("a detached message view and a signal that is not AbortSignal-like are INVALID_INPUT, before any socket", async () => {
  const rx = await receiver();
  try {
    const jobs = [
      { op: "send", detach: true },
      { op: "stream", detach: true },
      { op: "send", signalLike: "noRemove" },
      { op: "stream", signalLike: "noRemove" },
      { op: "send", signalLike: "noAborted" },
      { op: "send", signalLike: "string" },
    ];
    for (const job of jobs) {
      const out = await inWorker({ ...job, options: optionsFor(rx), message: MESSAGE });
      const label = JSON.stringify(job);
      assert.equal(out.error?.isMllpClientError, true, `${label}: ${JSON.stringify(out.error)}`);
      assert.equal(out.error.code, "INVALID_INPUT", label);
      assert.match(out.error.message, job.detach ? /detached/ : /signal must be an AbortSignal/, label);
      assert.equal(out.error.sent, false, label);
      assert.equal(out.sockets.length, 0, `${label}: no socket was opened`);
      assert.equal(out.timersLeft, 0, label);
    }
    await sleep(50);
    assert.equal(rx.connections.length, 0, "the receiver saw no connection");
  } finally {
    await rx.close();
  }
});

test("AbortSignal: aborting closes the connection at once and rejects with the signal's reason", async () => {
  const rx = await receiver();
  try {
    const out = await inWorker({ op: "send", options: optionsFor(rx, { ackTimeout: 10000 }), message: MESSAGE, abortAfter: 150 });
    assert.equal(out.ok, false);
    assert.equal(out.error.isReason, true, JSON.stringify(out.error));
    assert.equal(out.error.message, "caller gave up");
    assert.ok(out.elapsed < 5000, `aborted after ${out.elapsed} ms`);
    assert.ok(await within(rx.connections[0].ended, 2000), "the connection was closed on abort");
    assertCleanedUp(out);
  } finally {
    await rx.close();
  }
});

// ---------------------------------------------------------------------------------------
// stream()

test("stream(), enhanced mode: CA then AA (each in its own write), then done; the socket is closed", async () => {
  const rx = await receiver(async (socket, text) => {
    socket.write(frame(ackFor(text, "CA")));
    await sleep(50);
    socket.write(frame(ackFor(text, "AA")));
  });
  try {
    const out = await inWorker({ op: "stream", options: optionsFor(rx), message: MESSAGE });
    assert.equal(out.ok, true, JSON.stringify(out.error));
    assert.deepEqual(out.acks.map((a) => [a.code, a.controlId]), [["CA", "MSG00001"], ["AA", "MSG00001"]]);
    assert.equal(out.acks[1].raw, ackFor(MESSAGE, "AA"));
    assert.equal(rx.connections.length, 1, "one connection for the whole exchange");
    assert.ok(await within(rx.connections[0].ended, 2000), "the connection was closed after AA");
    assertCleanedUp(out);
  } finally {
    await rx.close();
  }
});

test("stream(): CA and AA in one write; and a CA, then AE, throws AckApplicationError after yielding CA", async () => {
  const rx = await receiver((socket, text) => socket.write(Buffer.concat([frame(ackFor(text, "CA")), frame(ackFor(text, "AA"))])));
  const rx2 = await receiver((socket, text) => socket.write(Buffer.concat([frame(ackFor(text, "CA")), frame(ackFor(text, "AE", "|Rejected"))])));
  try {
    const both = await inWorker({ op: "stream", options: optionsFor(rx), message: MESSAGE });
    assert.deepEqual(both.acks.map((a) => a.code), ["CA", "AA"]);
    assertCleanedUp(both);
    const nak = await inWorker({ op: "stream", options: optionsFor(rx2), message: MESSAGE });
    assert.deepEqual(nak.acks.map((a) => a.code), ["CA"]);
    assert.equal(nak.error.isAckApplicationError, true);
    assert.equal(nak.error.message, "Rejected");
    assertCleanedUp(nak);
  } finally {
    await rx.close();
    await rx2.close();
  }
});

test("stream(): each frame after CA gets a fresh ackTimeout", async () => {
  // ackTimeout 1000: CA after 600 ms, AA 600 ms after the CA (1200 ms in all) is in time.
  const rx = await receiver(async (socket, text) => {
    await sleep(600);
    socket.write(frame(ackFor(text, "CA")));
    await sleep(600);
    socket.write(frame(ackFor(text, "AA")));
  });
  // CA at once, then nothing: the AA times out.
  const rx2 = await receiver((socket, text) => socket.write(frame(ackFor(text, "CA"))));
  try {
    const out = await inWorker({ op: "stream", options: optionsFor(rx, { ackTimeout: 1000 }), message: MESSAGE });
    assert.equal(out.ok, true, JSON.stringify(out.error));
    assert.deepEqual(out.acks.map((a) => a.code), ["CA", "AA"]);
    const late = await inWorker({ op: "stream", options: optionsFor(rx2, { ackTimeout: 300 }), message: MESSAGE });
    assert.deepEqual(late.acks.map((a) => a.code), ["CA"]);
    assert.equal(late.error.code, "TIMEOUT", late.error.message);
    assert.equal(late.error.sent, true);
    assertCleanedUp(late);
  } finally {
    await rx.close();
    await rx2.close();
  }
});

test("stream(): leaving the loop after CA closes the connection", async () => {
  const rx = await receiver((socket, text) => socket.write(frame(ackFor(text, "CA"))));
  try {
    const out = await inWorker({ op: "stream", options: optionsFor(rx), message: MESSAGE, breakAfter: 1 });
    assert.equal(out.ok, true, JSON.stringify(out.error));
    assert.deepEqual(out.acks.map((a) => a.code), ["CA"]);
    assert.ok(await within(rx.connections[0].ended, 2000), "the connection was closed");
    assertCleanedUp(out);
  } finally {
    await rx.close();
  }
});

test("stream(): AbortSignal while waiting for the final ACK rejects with the reason and closes", async () => {
  const rx = await receiver((socket, text) => socket.write(frame(ackFor(text, "CA"))));
  try {
    const out = await inWorker({ op: "stream", options: optionsFor(rx), message: MESSAGE, abortAfter: 200 });
    assert.deepEqual(out.acks.map((a) => a.code), ["CA"]);
    assert.equal(out.error.isReason, true, JSON.stringify(out.error));
    assert.ok(await within(rx.connections[0].ended, 2000), "the connection was closed on abort");
    assertCleanedUp(out);
  } finally {
    await rx.close();
  }
});

// ---------------------------------------------------------------------------------------
// Options: the Workers TLS rule.

for (const [key, value] of [
  ["ca", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"],
  ["cert", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"],
  ["key", "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"],
  ["passphrase", "secret"],
  ["servername", "mllp.example.com"],
  ["insecure", true],
]) {
  test(`tls.${key} throws MllpClientError INVALID_INPUT from the constructor, saying why, before any socket`, async () => {
    const rx = await receiver();
    try {
      for (const op of ["send", "stream"]) {
        const out = await inWorker({ op, options: { host: "127.0.0.1", port: rx.port, tls: { [key]: value } }, message: MESSAGE });
        assert.equal(out.constructed, false, "the constructor threw");
        assert.equal(out.error.isMllpClientError, true);
        assert.equal(out.error.name, "MllpClientError");
        assert.equal(out.error.code, "INVALID_INPUT");
        assert.equal(out.error.sent, false);
        assert.match(out.error.message, /Workers runtime cannot honour programmatic TLS material/);
        assert.match(out.error.message, new RegExp(`tls\\.${key}\\b`));
        assert.equal(out.sockets.length, 0, "no socket was opened");
      }
      await sleep(50);
      assert.equal(rx.connections.length, 0, "the receiver saw no connection");
    } finally {
      await rx.close();
    }
  });
}

test("pool (other than false) throws INVALID_INPUT: a Workers socket cannot outlive its request; close() resolves", async () => {
  for (const pool of [true, { max: 2 }, {}]) {
    const out = await inWorker({ op: "construct", options: { host: "mllp.example.com", port: 6661, pool } });
    assert.equal(out.constructed, false, JSON.stringify(pool));
    assert.equal(out.error.isMllpClientError, true);
    assert.equal(out.error.code, "INVALID_INPUT");
    assert.match(out.error.message, /cannot keep connections between requests/);
  }
  const rx = await receiver((socket, text) => socket.write(frame(ackFor(text))));
  try {
    const out = await inWorker({ op: "send", options: optionsFor(rx, { pool: false }), message: MESSAGE, closeAfter: true });
    assert.equal(out.ok, true, JSON.stringify(out.error));
    assert.equal(out.options.pool, false);
    assert.equal(out.closeResult, "resolved");
  } finally {
    await rx.close();
  }
});

test("tls: true, {} (and keys set to undefined) and false are accepted; other options are checked as on Node", async () => {
  for (const tls of [true, {}, false, undefined]) {
    const out = await inWorker({ op: "construct", options: { host: "mllp.example.com", port: 6661, ...(tls === undefined ? {} : { tls }) } });
    assert.equal(out.constructed, true, JSON.stringify(out.error));
    assert.equal(out.options.tls, tls !== false);
    assert.equal(out.options.ackTimeout, 30000);
    assert.equal(out.options.connectTimeout, 10000);
    assert.equal(out.options.encoding, "utf8");
  }
  for (const options of [{ host: "", port: 1 }, { host: "h", port: 0 }, { host: "h", port: 1, tls: "yes" }, { host: "h", port: 1, timeout: 5 }, { host: "h", port: 1, encoding: "klingon" }, { host: "h", port: 1, encoding: "shift_jis" }]) {
    const out = await inWorker({ op: "construct", options });
    assert.equal(out.constructed, false, JSON.stringify(options));
    assert.equal(out.error.code, "INVALID_INPUT");
    assert.equal(out.error.isMllpClientError, true);
  }
});

// ---------------------------------------------------------------------------------------
// The shared vectors, in workerd.

test("the JSON vectors (frames, ack, messages) pass through @glion/ack and @glion/ack/wire inside workerd", async () => {
  const load = (name) => JSON.parse(fs.readFileSync(path.join(__dirname, "vectors", name), "utf8")).cases;
  const vectors = { frames: load("frames.json"), ack: load("ack.json"), messages: load("messages.json") };
  const mf = await ready;
  const worker = await mf.getWorker("vectors");
  const response = await worker.fetch("http://vectors.test/", { method: "POST", body: JSON.stringify(vectors) });
  const result = await response.json();
  for (const kind of ["frames", "ack", "messages"]) {
    assert.deepEqual(result[kind].failures, [], `${kind}.json failures in workerd`);
    assert.equal(result[kind].total, vectors[kind].length);
    assert.equal(result[kind].passed, vectors[kind].length, `${kind}.json: all ${vectors[kind].length} cases pass`);
  }
});

// ---------------------------------------------------------------------------------------
// Character sets and diagnostics on Workers (README "Character sets", "Diagnostics").

const MSH_WITH = (id, msh18) => `MSH|^~\\&|SND|FAC|RCV|FAC|20260510120000||ADT^A01|${id}|P|2.5||||||${msh18}`;

/** A receiver that answers each frame with `answer(frameBytes)` (unframed ACK bytes). */
const bytesAnswering = (answer) =>
  receiver((socket) => {
    const content = socket.received.subarray(1, socket.received.indexOf(Buffer.from([0x1c, 0x0d])));
    socket.write(frame(answer(content)));
  });

test("Workers charsets: single-byte charsets byte-exact, auto from MSH-18, the ACK by its own MSH-18", async () => {
  const cases = [
    // [encoding, message MSH-18, name, its bytes, ACK MSH-18, ACK MSA-3 bytes, expected MSA-3]
    ["windows-1252", "", "€Š", "808a", "", "80", "€"],
    ["latin1", "", "MÜLLER", "4ddc4c4c4552", "", "dc", "Ü"],
    ["8859/15", "", "€Œ", "a4bc", "", "a4", "€"],
    ["iso-8859-2", "", "Łódź", "a3f364bc", "", "a3", "Ł"],
    ["auto", "8859/1", "MÜLLER", "4ddc4c4c4552", "", "dc", "Ü"],
    ["auto", "", "Müller", "4dc3bc6c6c6572", "ISO IR87", "1b24423b3345441b2842", "山田"],
    ["auto", "8859/1", "Müller", "4dfc6c6c6572", "shift_jis", "838483", "ヤ\ufffd"],
  ];
  for (const [encoding, msh18, name, nameHex, ackMsh18, ackHex, expected] of cases) {
    const rx = await bytesAnswering(() =>
      Buffer.concat([Buffer.from(`MSH|^~\\&|||||||ACK|X|P|2.5${ackMsh18 ? `||||||${ackMsh18}` : ""}\rMSA|AA|W1|`, "latin1"), Buffer.from(ackHex, "hex")]),
    );
    try {
      const out = await inWorker({ op: "send", options: optionsFor(rx, { encoding }), message: `${MSH_WITH("W1", msh18)}\rPID|1||P1||${name}` });
      assert.equal(out.ok, true, JSON.stringify(out.error));
      const sent = rx.connections[0].received;
      assert.deepEqual(sent, frame(Buffer.concat([Buffer.from(`${MSH_WITH("W1", msh18)}\rPID|1||P1||`, "latin1"), Buffer.from(nameHex, "hex")])), `${encoding} ${msh18}`);
      assert.equal(out.ack.message, expected, `${encoding}: ACK MSH-18 ${ackMsh18}`);
    } finally {
      await rx.close();
    }
  }
});

test("Workers charsets: multi-byte legacy charsets are refused for strings (INVALID_INPUT, no socket), bytes in them are sent as given", async () => {
  // A fixed one: at construction (covered with the other options); under auto: at send().
  const refused = await inWorker({ op: "send", options: { host: "127.0.0.1", port: 1, tls: false, encoding: "auto" }, message: `${MSH_WITH("W2", "shift_jis")}\rPID|1||ヤマダ` });
  assert.equal(refused.error.code, "INVALID_INPUT");
  assert.match(refused.error.message, /Shift_JIS cannot be encoded on this runtime/);
  assert.equal(refused.sockets.length, 0);
  const unencodable = await inWorker({ op: "send", options: { host: "127.0.0.1", port: 1, tls: false, encoding: "latin1" }, message: `${MSH_WITH("W2", "")}\rPID|1||€` });
  assert.equal(unencodable.error.code, "INVALID_INPUT");
  assert.match(unencodable.error.message, /U\+20AC/);
  assert.equal(unencodable.sockets.length, 0);
  // Bytes already in Shift_JIS (MSH-18 says so): sent as given, the ACK read in Shift_JIS.
  const sjis = Buffer.concat([Buffer.from(`${MSH_WITH("W3", "shift_jis")}\rPID|1||`, "latin1"), Buffer.from("838483", "hex")]);
  const rx = await bytesAnswering(() => Buffer.concat([Buffer.from("MSH|^~\\&|||||||ACK|X|P|2.5\rMSA|AA|W3|", "latin1"), Buffer.from("83848384", "hex")]));
  try {
    const out = await inWorker({ op: "send", options: optionsFor(rx, { encoding: "auto" }), messageLatin1: sjis.toString("latin1") });
    assert.equal(out.ok, true, JSON.stringify(out.error));
    assert.deepEqual(rx.connections[0].received, frame(sjis));
    assert.equal(out.ack.message, "ヤヤ");
  } finally {
    await rx.close();
  }
});

test("Workers diagnostics: with nodejs_compat the channel sees send() and stream(); without it nothing breaks", async () => {
  const rx = await receiver((socket, text) => {
    if (text.includes("|NAK1|")) socket.write(frame(ackFor(text, "AE", "|no")));
    else if (text.includes("|STR1|")) socket.write(Buffer.concat([frame(ackFor(text, "CA")), frame(ackFor(text, "AA"))]));
    else socket.write(frame(ackFor(text, "AA")));
  });
  try {
    const message = (id) => `${MSH_WITH(id, "")}\rPID|1||P1||SECRETNAME^PATIENT`;
    const aa = await inWorker({ op: "send", trace: true, options: optionsFor(rx), message: message("AA1") }, { nodejsCompat: true });
    assert.equal(aa.ok, true, JSON.stringify(aa.error));
    assert.deepEqual(aa.events.map((e) => e.name), ["start", "end", "asyncStart", "asyncEnd"]);
    const context = aa.events[3].context;
    assert.deepEqual(context, { host: "127.0.0.1", port: rx.port, tls: false, controlId: "AA1", bytes: message("AA1").length, pooled: false, ack: { code: "AA", controlId: "AA1" } });
    const nak = await inWorker({ op: "send", trace: true, options: optionsFor(rx), message: message("NAK1") }, { nodejsCompat: true });
    assert.deepEqual(nak.events.map((e) => e.name), ["start", "end", "error", "asyncStart", "asyncEnd"]);
    assert.deepEqual(nak.events[4].context.ack, { code: "AE", controlId: "NAK1" });
    assert.equal(nak.events[4].context.error.name, "AckApplicationError");
    const port = await closedPort();
    const refused = await inWorker({ op: "send", trace: true, options: { host: "127.0.0.1", port, tls: false }, message: message("REF1") }, { nodejsCompat: true });
    assert.equal(refused.events.at(-1).context.error.code, "CONNECTION_REFUSED");
    const stream = await inWorker({ op: "stream", trace: true, options: optionsFor(rx), message: message("STR1") }, { nodejsCompat: true });
    assert.deepEqual(stream.acks.map((a) => a.code), ["CA", "AA"]);
    assert.deepEqual(stream.events.map((e) => e.name), ["start", "end", "asyncStart", "asyncEnd"]);
    assert.deepEqual(stream.events[3].context.ack, { code: "AA", controlId: "STR1" });
    for (const out of [aa, nak, refused, stream]) assert.doesNotMatch(JSON.stringify(out.events), /SECRETNAME/);
    const plain = await inWorker({ op: "send", trace: true, options: optionsFor(rx), message: message("AA2") });
    assert.equal(plain.ok, true);
    assert.equal(plain.events, "no diagnostics_channel");
  } finally {
    await rx.close();
  }
});
