// @ts-self-types="./index.d.ts"
"use strict";
// `@glion/mllp-client` and `@glion/mllp-client/node`: Node.js and Bun, over the native addon.

const native = require("./lib/addon.cjs").loadAddon();
const ack = require("@glion/ack");
const { MllpClientError } = require("./lib/errors.cjs");
const { createClientClass } = require("./lib/native-client.cjs");
const { EXIT_CODES, exitCodeFor } = require("./lib/exit-codes.cjs");

// Plain-TCP sends to an IP address may run on the host's own libuv loop (README, "How a
// send runs"). Whether the host has one the addon may use (Node, not Bun or Deno) is decided
// in Rust (src/binding/uv.rs); GLION_MLLP_IO=tokio turns the path off.
const eventLoop = process.env.GLION_MLLP_IO !== "tokio";

module.exports = { ...ack, MllpClient: createClientClass(native, { eventLoop }), MllpClientError, EXIT_CODES, exitCodeFor };
