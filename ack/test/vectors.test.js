"use strict";
// Runs the shared JSON vectors (__test__/vectors/, format in docs/ARCHITECTURE.md) against
// the JS implementation. The Rust core runs the very same files.
const { test } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { FrameDecoder, prepareMessage } = require("../wire.cjs");
const { parseAck, AckParseError } = require("../index.cjs");

const VECTORS = path.join(__dirname, "..", "..", "__test__", "vectors");
const { bytesOf, latin1Of, splits } = require(path.join(VECTORS, "chunking.js"));
const load = (name) => JSON.parse(fs.readFileSync(path.join(VECTORS, name), "utf8")).cases;
const frameCases = load("frames.json");
const ackCases = load("ack.json");
const messageCases = load("messages.json");

/** JSON null stands for undefined. */
function nullToUndefined(value) {
  if (value === null) return undefined;
  if (Array.isArray(value)) return value.map(nullToUndefined);
  if (typeof value === "object") {
    const out = {};
    for (const [key, v] of Object.entries(value)) out[key] = nullToUndefined(v);
    return out;
  }
  return value;
}


/** Feed chunks; returns { frames, error, eof } in the vector vocabulary. */
function run(testCase, chunks) {
  const options = testCase.maxFrameBytes === undefined ? undefined : { maxFrameBytes: testCase.maxFrameBytes };
  const decoder = new FrameDecoder(options);
  const frames = [];
  for (const chunk of chunks) {
    // copy the chunk and scribble over it afterwards: emitted frames must not alias it
    const copy = chunk.slice();
    try {
      for (const frame of decoder.push(copy)) frames.push(latin1Of(frame));
    } catch (error) {
      assert.equal(error.code, "MALFORMED_FRAME", `unexpected error ${error.message}`);
      assert.ok(Array.isArray(error.frames), "a MALFORMED_FRAME error carries error.frames");
      for (const frame of error.frames) frames.push(latin1Of(frame));
      return { frames, error: error.code, eof: undefined, message: error.message };
    } finally {
      copy.fill(0x21);
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
    assert.equal(error.code, "CONNECTION_CLOSED", `unexpected error at end: ${error.message}`);
    eof = "truncated";
  }
  return { frames, error: null, eof };
}

test("vector files have the required number of cases and the documented shape", () => {
  assert.ok(frameCases.length >= 20, "frames.json has at least 20 cases");
  assert.ok(ackCases.length >= 25, "ack.json has at least 25 cases");
  assert.ok(messageCases.length >= 15, "messages.json has at least 15 cases");
  const names = (cases) => new Set(cases.map((c) => c.name)).size === cases.length;
  assert.ok(names(frameCases) && names(ackCases) && names(messageCases), "case names are unique");
  for (const c of frameCases) {
    assert.equal(typeof c.name, "string");
    assert.equal(typeof c.input, "string");
    assert.ok(Array.isArray(c.frames));
    assert.ok(c.error === null || c.error === "MALFORMED_FRAME", c.name);
    assert.ok(["clean", "truncated", "frame"].includes(c.eof), c.name);
    if (c.eof === "frame" && c.error === null) assert.ok(c.frames.length > 0, c.name);
    if (c.maxFrameBytes !== undefined) assert.ok(Number.isInteger(c.maxFrameBytes), c.name);
    bytesOf(c.input);
  }
  for (const c of ackCases) {
    assert.equal(typeof c.raw, "string");
    if ("error" in c) {
      assert.equal(c.error, "MALFORMED_ACK", c.name);
      assert.equal(c.ack, undefined, c.name);
      continue;
    }
    assert.deepEqual(Object.keys(c.ack).sort(), ["code", "controlId", "errorCode", "errors", "message", "severity"]);
    for (const e of c.ack.errors) {
      assert.deepEqual(Object.keys(e).sort(), ["errorCode", "errorText", "location", "severity"], c.name);
    }
  }
  for (const c of messageCases) {
    assert.ok(["string", "bytes"].includes(c.inputKind), c.name);
    assert.equal(typeof c.encoding, "string", c.name); // any name of README "Character sets"
    if ("error" in c) assert.equal(c.error, "INVALID_INPUT", c.name);
    else {
      assert.equal(typeof c.wire, "string", c.name);
      assert.ok(c.controlId === null || typeof c.controlId === "string", c.name);
      bytesOf(c.wire);
    }
    if (c.inputKind === "bytes") bytesOf(c.input);
  }
});

for (const c of frameCases) {
  test(`frames.json: ${c.name}`, () => {
    const input = bytesOf(c.input);
    const modes = [["whole"], ["bytes"], ["random", 1], ["random", 2], ["random", 3], ["random", 4]];
    for (const [mode, seed] of modes) {
      const got = run(c, splits(input, mode, seed));
      const label = `${mode}${seed === undefined ? "" : ` seed ${seed}`}`;
      assert.deepEqual(got.frames, c.frames, `frames (${label})`);
      assert.equal(got.error, c.error, `error (${label})`);
      if (c.error === null) assert.equal(got.eof, c.eof, `eof (${label})`);
      if (c.messageIncludes !== undefined && mode === "whole") assert.ok(got.message.includes(c.messageIncludes), `${got.message} includes ${c.messageIncludes}`);
    }
  });
}

for (const c of ackCases) {
  test(`ack.json: ${c.name}`, () => {
    if (c.error) {
      assert.throws(
        () => parseAck(c.raw),
        (error) => error instanceof AckParseError && error.code === c.error && error.message.length > 0,
      );
      return;
    }
    const ack = parseAck(c.raw);
    assert.equal(ack.raw, c.raw);
    const { raw, ...fields } = ack;
    assert.deepStrictEqual(fields, nullToUndefined(c.ack));
    // absent values are undefined (own keys present), never null
    for (const key of ["code", "controlId", "message", "errorCode", "severity", "errors", "raw"]) {
      assert.ok(key in ack, `Ack has key ${key}`);
      assert.notEqual(ack[key], null, `Ack.${key} is not null`);
    }
  });
}

for (const c of messageCases) {
  test(`messages.json: ${c.name}`, () => {
    const input = c.inputKind === "bytes" ? bytesOf(c.input) : c.input;
    if (c.error) {
      assert.throws(
        () => prepareMessage(input, c.encoding),
        (error) => error instanceof Error && error.code === c.error && error.message.length > 0,
      );
      return;
    }
    const result = prepareMessage(input, c.encoding);
    assert.ok(result.bytes instanceof Uint8Array);
    assert.equal(latin1Of(result.bytes), c.wire);
    assert.equal(result.controlId, c.controlId);
  });
}
