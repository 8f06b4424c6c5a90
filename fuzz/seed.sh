#!/usr/bin/env bash
# Build the seed corpus of every fuzz target from the shared JSON vectors
# (__test__/vectors/*.json) and the sample messages (samples/*.hl7).
#
#   fuzz/seed.sh            # writes fuzz/corpus/<target>/seed-*
#
# The corpus directories are git-ignored (fuzz/corpus/*/); run this before `cargo fuzz run`
# (scripts/fuzz.sh does). Re-running replaces the seed-* files and keeps what libFuzzer
# added. Needs only node (already required by the repo).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"

node - "$root" "$here/corpus" <<'JS'
const fs = require("node:fs");
const path = require("node:path");
const [root, corpus] = process.argv.slice(2);

// Vector strings that stand for bytes are Latin-1 (one char code = one byte).
const bytes = (text) => Buffer.from(text, "latin1");
const frame = (body) => Buffer.concat([Buffer.from([0x0b]), body, Buffer.from([0x1c, 0x0d])]);
const cases = (file) => JSON.parse(fs.readFileSync(path.join(root, "__test__", "vectors", file), "utf8")).cases;
// The 1 MiB MDM sample would make libFuzzer's -max_len huge and every run slow: its head is
// enough to seed the structure.
const SAMPLE_HEAD = 8 * 1024;
const samples = fs.readdirSync(path.join(root, "samples"))
  .filter((f) => f.endsWith(".hl7"))
  .sort()
  .map((f) => ({ name: f.replace(/\.hl7$/, ""), body: fs.readFileSync(path.join(root, "samples", f)).subarray(0, SAMPLE_HEAD) }));

const written = {};
function write(target, name, data) {
  const dir = path.join(corpus, target);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `seed-${name.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 80)}`);
  fs.writeFileSync(file, data);
  written[target] = (written[target] ?? 0) + 1;
}
for (const target of ["frame_decoder", "ack_parser", "message_checks"]) {
  const dir = path.join(corpus, target);
  if (fs.existsSync(dir)) for (const f of fs.readdirSync(dir)) if (f.startsWith("seed-")) fs.rmSync(path.join(dir, f));
}

// frame_decoder input: byte 0 = maxFrameBytes (< 0x80: that many bytes; >= 0x80: 1 MiB),
// bytes 1..=4 = chunking seed, then the stream.
const decoderInput = (max, seed, stream) => Buffer.concat([Buffer.from([max, seed, 0x5a, 0xa5, 0x3c]), stream]);
cases("frames.json").forEach((c, i) => {
  const stream = bytes(c.input);
  write("frame_decoder", `${i}-${c.name}`, decoderInput(c.maxFrameBytes ?? 0x80, i, stream));
  if (c.maxFrameBytes === undefined) write("frame_decoder", `${i}-cap8-${c.name}`, decoderInput(8, i + 7, stream));
});
for (const s of samples) write("frame_decoder", `sample-${s.name}`, decoderInput(0x80, 3, frame(s.body)));
cases("ack.json").slice(0, 20).forEach((c, i) => {
  write("frame_decoder", `ack-${i}-${c.name}`, decoderInput(0x80, i, Buffer.concat([Buffer.from("\r\n\0"), frame(Buffer.from(c.raw, "utf8")), frame(Buffer.from(c.raw, "utf8"))])));
});

// ack_parser input: the frame content (decoded as UTF-8 and as Latin-1 by the target).
cases("ack.json").forEach((c, i) => write("ack_parser", `${i}-${c.name}`, Buffer.from(c.raw, "utf8")));
for (const s of samples) write("ack_parser", `sample-${s.name}`, s.body);

// message_checks input: the message bytes as the binding would receive them.
cases("messages.json").forEach((c, i) => {
  const data = c.inputKind === "bytes" ? bytes(c.input) : Buffer.from(c.input, c.encoding === "latin1" ? "latin1" : "utf8");
  write("message_checks", `${i}-${c.name}`, data);
});
for (const s of samples) write("message_checks", `sample-${s.name}`, s.body);

for (const [target, n] of Object.entries(written)) console.log(`${target}: ${n} seed files`);
JS
