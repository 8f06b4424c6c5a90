"use strict";
// FrameDecoder / encodeFrame / prepareMessage / text codecs beyond the shared vectors.
const { test } = require("node:test");
const assert = require("node:assert/strict");
const {
  FrameDecoder,
  encodeFrame,
  prepareMessage,
  encodeText,
  decodeText,
  DEFAULT_MAX_FRAME_BYTES,
} = require("../wire.cjs");

const enc = (s) => new TextEncoder().encode(s);
const dec = (b) => new TextDecoder().decode(b);

test("encodeFrame wraps the bytes in 0x0B ... 0x1C 0x0D", () => {
  assert.deepEqual([...encodeFrame(enc("MSH|A"))], [0x0b, 0x4d, 0x53, 0x48, 0x7c, 0x41, 0x1c, 0x0d]);
  assert.deepEqual([...encodeFrame(new Uint8Array(0))], [0x0b, 0x1c, 0x0d]);
  assert.throws(() => encodeFrame("MSH"), TypeError);
});

test("encodeFrame output decodes back to the same content", () => {
  const content = enc("MSH|^~\\&|é\rMSA|AA|1");
  const decoder = new FrameDecoder();
  const frames = decoder.push(encodeFrame(content));
  assert.equal(frames.length, 1);
  assert.deepEqual(frames[0], content);
  assert.equal(decoder.end(), null);
});

test("default maxFrameBytes is 1 MiB and options are validated", () => {
  assert.equal(DEFAULT_MAX_FRAME_BYTES, 1048576);
  assert.equal(new FrameDecoder().maxFrameBytes, 1048576);
  assert.equal(new FrameDecoder({}).maxFrameBytes, 1048576);
  assert.equal(new FrameDecoder({ maxFrameBytes: 5 }).maxFrameBytes, 5);
  assert.throws(() => new FrameDecoder({ maxFrameBytes: -1 }), TypeError);
  assert.throws(() => new FrameDecoder({ maxFrameBytes: 1.5 }), TypeError);
  assert.throws(() => new FrameDecoder({ maxFrameBytes: "10" }), TypeError);
  assert.throws(() => new FrameDecoder().push("text"), TypeError);
});

test("a frame just over 1 MiB by default is MALFORMED_FRAME, exactly 1 MiB is fine", () => {
  const ok = new FrameDecoder();
  const big = new Uint8Array(1048576).fill(0x41);
  assert.equal(ok.push(encodeFrame(big))[0].length, 1048576);
  const over = new FrameDecoder();
  assert.throws(() => over.push(encodeFrame(new Uint8Array(1048577).fill(0x41))), { code: "MALFORMED_FRAME" });
});

test("error.frames carries the frames completed earlier in the failing chunk", () => {
  const decoder = new FrameDecoder();
  const chunk = new Uint8Array([...encodeFrame(enc("A")), ...encodeFrame(enc("B")), 0x58]);
  assert.throws(() => decoder.push(chunk), (error) => {
    assert.equal(error.code, "MALFORMED_FRAME");
    assert.match(error.message, /0x58/);
    assert.deepEqual(error.frames.map(dec), ["A", "B"]);
    return true;
  });
});

test("after an error the decoder stays failed", () => {
  const decoder = new FrameDecoder();
  assert.throws(() => decoder.push(enc("X")), { code: "MALFORMED_FRAME" });
  assert.throws(() => decoder.push(encodeFrame(enc("A"))), { code: "MALFORMED_FRAME" });
});

test("end(): clean, accepted frame, truncated; the decoder is reset afterwards", () => {
  const decoder = new FrameDecoder();
  assert.equal(decoder.idle, true);
  assert.deepEqual(decoder.push(new Uint8Array([0x0b, 0x41, 0x1c])), []);
  assert.equal(decoder.idle, false);
  assert.equal(dec(decoder.end()), "A");
  assert.equal(decoder.idle, true);
  assert.equal(decoder.end(), null);
  decoder.push(new Uint8Array([0x0b, 0x41]));
  assert.throws(() => decoder.end(), (error) => error.code === "CONNECTION_CLOSED" && /frame/.test(error.message));
  assert.equal(decoder.end(), null);
});

test("emitted frames are copies, not views of the caller's chunk", () => {
  const decoder = new FrameDecoder();
  const chunk = encodeFrame(enc("MSH|A"));
  const [frame] = decoder.push(chunk);
  chunk.fill(0);
  assert.equal(dec(frame), "MSH|A");
  // across chunks too
  const first = new Uint8Array([0x0b, 0x41, 0x42]);
  assert.deepEqual(decoder.push(first), []);
  first.fill(0);
  const [joined] = decoder.push(new Uint8Array([0x43, 0x1c, 0x0d]));
  assert.equal(dec(joined), "ABC");
});

test("the limit error is raised as soon as it is passed, before the end block arrives", () => {
  const decoder = new FrameDecoder({ maxFrameBytes: 4 });
  assert.deepEqual(decoder.push(new Uint8Array([0x0b, 0x41, 0x41])), []);
  assert.deepEqual(decoder.push(new Uint8Array([0x41, 0x41])), []);
  assert.throws(() => decoder.push(new Uint8Array([0x41])), { code: "MALFORMED_FRAME" });
});

test("large input in small chunks stays linear (many frames, many chunks)", () => {
  const frameCount = 2000;
  const content = enc("MSH|^~\\&|RECV|FAC|SEND|FAC|20240101120000||ACK^A01^ACK|ACK0001|P|2.5\rMSA|AA|MSG0001\r".repeat(20));
  const one = encodeFrame(content);
  const stream = new Uint8Array(one.length * frameCount);
  for (let i = 0; i < frameCount; i++) stream.set(one, i * one.length);
  const decoder = new FrameDecoder();
  let frames = 0;
  const started = process.hrtime.bigint();
  for (let at = 0; at < stream.length; at += 1500) frames += decoder.push(stream.subarray(at, at + 1500)).length;
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.equal(frames, frameCount);
  assert.equal(decoder.end(), null);
  assert.ok(ms < 2000, `decoding ${stream.length} bytes took ${ms} ms`);
});

test("one huge frame fed in 1-KiB chunks", () => {
  const content = new Uint8Array(900 * 1024).fill(0x61);
  const framed = encodeFrame(content);
  const decoder = new FrameDecoder();
  const out = [];
  for (let at = 0; at < framed.length; at += 1024) out.push(...decoder.push(framed.subarray(at, at + 1024)));
  assert.equal(out.length, 1);
  assert.deepEqual(out[0], content);
});

test("decodeText latin1 is true ISO-8859-1 (0x80-0x9F are C1 controls, not windows-1252)", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const text = decodeText(all, "latin1");
  assert.equal(text.length, 256);
  for (let i = 0; i < 256; i++) assert.equal(text.charCodeAt(i), i);
  assert.equal(decodeText(new Uint8Array([0x80]), "latin1"), "\u0080"); // windows-1252 would give €
  const long = new Uint8Array(100000).fill(0xe9);
  assert.equal(decodeText(long, "latin1"), "\u00e9".repeat(100000));
});

test("decodeText utf8, and invalid UTF-8 becomes U+FFFD", () => {
  assert.equal(decodeText(new Uint8Array([0xc3, 0xa9])), "é");
  assert.equal(decodeText(new Uint8Array([0x41, 0xe9, 0x42]), "utf8"), "A\ufffdB");
  assert.equal(decodeText(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])), "\ufeffA", "a BOM is kept");
  assert.throws(() => decodeText(new Uint8Array(1), "utf-17"), { code: "INVALID_INPUT" });
});

test("encodeText utf8 / latin1", () => {
  assert.deepEqual([...encodeText("é", "utf8")], [0xc3, 0xa9]);
  assert.deepEqual([...encodeText("é\u00ff\u0080", "latin1")], [0xe9, 0xff, 0x80]);
  assert.throws(() => encodeText("€", "latin1"), (e) => e.code === "INVALID_INPUT" && /U\+20AC/.test(e.message));
});

test("prepareMessage: error messages say which rule failed", () => {
  const rule = (input, pattern, encoding) =>
    assert.throws(() => prepareMessage(input, encoding), (e) => e.code === "INVALID_INPUT" && pattern.test(e.message));
  rule("", /empty/);
  rule("PID|1", /MSH, FHS or BHS/);
  rule("MSH|A\x0b", /0x0B/);
  rule("MSH|A\x1c", /0x1C/);
  rule("MSH|€", /U\+20AC .*ISO-8859-1/, "latin1");
  rule(42, /string or a Uint8Array/);
  rule("MSH|A", /unknown character set "klingon"/, "klingon");
});

test("prepareMessage: bytes without LF are returned as they are; with LF a new array", () => {
  const input = enc("MSH|^~\\&|A\rPID|1");
  const same = prepareMessage(input);
  assert.equal(same.bytes, input);
  const lf = enc("MSH|^~\\&|A\nPID|1\n");
  const converted = prepareMessage(lf);
  assert.notEqual(converted.bytes, lf);
  assert.equal(dec(lf), "MSH|^~\\&|A\nPID|1\n", "input not modified");
  assert.equal(dec(converted.bytes), "MSH|^~\\&|A\rPID|1\r");
});

test("prepareMessage: MSH-10 decoded with the encoding", () => {
  const latin1 = Uint8Array.from("MSH|^~\\&|S|F|R|F|2024||ADT^A01|C\xe9|P|2.5", (c) => c.charCodeAt(0));
  assert.equal(prepareMessage(latin1, "latin1").controlId, "C\u00e9");
  assert.equal(prepareMessage("MSH|^~\\&|S|F|R|F|2024||ADT^A01|Cé|P|2.5", "utf8").controlId, "Cé");
  assert.equal(prepareMessage(Buffer.from("MSH|^~\\&|S|F|R|F|2024||ADT^A01|BUF1")).controlId, "BUF1", "Buffer is a Uint8Array");
});

test("any-realm Uint8Array is bytes for prepareMessage, FrameDecoder, encodeFrame, decodeText; a detached one is INVALID_INPUT", () => {
  const vm = require("node:vm");
  const { prepareMessage: prepare, FrameDecoder: Decoder, encodeFrame: encode, decodeText: decode, isUint8Array, isDetached } = require("../wire.cjs");
  const make = vm.runInNewContext("(codes) => Uint8Array.from(codes)");
  const text = "MSH|^~\\&|A|B|C|D|2026||ADT^A01|X1|P|2.5\nPID|1";
  const foreign = make(Array.from(text, (c) => c.charCodeAt(0)));
  assert.equal(foreign instanceof Uint8Array, false);
  assert.equal(isUint8Array(foreign), true);
  assert.equal(isUint8Array(Buffer.from("x")), true);
  assert.equal(isUint8Array(new Uint16Array(2)), false);
  assert.equal(isUint8Array({ [Symbol.toStringTag]: "Uint8Array" }), false);
  const prepared = prepare(foreign, "utf8");
  assert.equal(prepared.controlId, "X1");
  assert.equal(decode(prepared.bytes, "utf8"), text.replace("\n", "\r"));
  assert.equal(decode(foreign, "latin1"), text);
  const framed = make([0x0b, 0x41, 0x1c, 0x0d]);
  assert.deepEqual(new Decoder().push(framed).map((f) => Array.from(f)), [[0x41]]);
  assert.deepEqual(Array.from(encode(make([0x41]))), [0x0b, 0x41, 0x1c, 0x0d]);

  const buffer = new ArrayBuffer(8);
  const detached = new Uint8Array(buffer);
  structuredClone(buffer, { transfer: [buffer] });
  assert.equal(isDetached(detached), true);
  assert.equal(isDetached(new Uint8Array(0)), false);
  assert.throws(() => prepare(detached, "utf8"), (error) => error.code === "INVALID_INPUT" && /detached/.test(error.message));
});
