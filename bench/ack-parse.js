"use strict";
// The ACK hot path in JS: `@glion/ack`'s parseAck on the ACKs that tests/ack_properties.rs
// `hot_path` parses in Rust (run both; README "ACK parsing: one set of rules").
//   node bench/ack-parse.js
const { parseAck } = require("../ack/index.cjs");

const ACKS = {
  AA: "MSH|^~\\&|RECEIVER|FACILITY|SENDER|FACILITY|20260510120001||ACK^A01^ACK|ACK00001|P|2.5\rMSA|AA|MSG00001",
  "AE + ERR": "MSH|^~\\&|RECEIVER|FACILITY|SENDER|FACILITY|20260510120001||ACK^A01^ACK|ACK00001|P|2.5\rMSA|AE|MSG00001|Patient not found\rERR||PID^3|204^Unknown key identifier^HL70357|E",
};
for (const [name, text] of Object.entries(ACKS)) {
  for (let i = 0; i < 200_000; i++) parseAck(text); // warm up
  const rounds = 1_000_000;
  const start = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) parseAck(text);
  const ns = Number(process.hrtime.bigint() - start) / rounds;
  console.log(`js parseAck, ${name} (${text.length} bytes): ${ns.toFixed(0)} ns`);
}
