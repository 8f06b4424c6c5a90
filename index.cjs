// @ts-self-types="./index.d.ts"
"use strict";
// `@glion/mllp-client` and `@glion/mllp-client/node`: Node.js and Bun, over the native addon.

const native = require("./lib/addon.cjs").loadAddon();
const ack = require("@glion/ack");
const { MllpClientError } = require("./lib/errors.cjs");
const { createClientClass } = require("./lib/native-client.cjs");
const { EXIT_CODES, exitCodeFor } = require("./lib/exit-codes.cjs");

// On Node (Linux), plain-TCP sends to an IP address run on Node's own libuv loop (README,
// "How a send runs"); Bun and Deno have no libuv loop to share. GLION_MLLP_IO=tokio turns
// it off. Elsewhere the addon ignores the flag.
const eventLoop = !process.versions.bun && typeof globalThis.Deno === "undefined" && process.env.GLION_MLLP_IO !== "tokio";

module.exports = { ...ack, MllpClient: createClientClass(native, { eventLoop }), MllpClientError, EXIT_CODES, exitCodeFor };
