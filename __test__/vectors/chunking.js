"use strict";
// How the JS vector runners (ack/test/vectors.test.js under Node and Bun, and the worker in
// __test__/workers.test.js under workerd) turn the Latin-1 byte strings of the vector files
// into bytes and feed them in pieces. Pure JS: it is bundled into a Cloudflare Worker too.

/** Latin-1 byte string -> bytes (each char code is one byte). */
function bytesOf(latin1) {
  const out = new Uint8Array(latin1.length);
  for (let i = 0; i < latin1.length; i++) {
    const code = latin1.charCodeAt(i);
    if (code > 0xff) throw new Error(`vector byte string has char U+${code.toString(16)}`);
    out[i] = code;
  }
  return out;
}

/** bytes -> Latin-1 byte string. */
function latin1Of(bytes) {
  let out = "";
  for (const byte of bytes) out += String.fromCharCode(byte);
  return out;
}

/** Deterministic PRNG (mulberry32) so random splits are reproducible. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `bytes` whole, one byte at a time, or in seeded random pieces of 1..7 (maybe one empty). */
function splits(bytes, mode, seed) {
  if (mode === "whole") return [bytes];
  if (mode === "bytes") return Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
  const random = prng(seed);
  const chunks = [];
  let at = 0;
  while (at < bytes.length) {
    const size = 1 + Math.floor(random() * 7);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  if (random() < 0.5) chunks.splice(Math.floor(random() * (chunks.length + 1)), 0, new Uint8Array(0));
  return chunks;
}

module.exports = { bytesOf, latin1Of, prng, splits };
