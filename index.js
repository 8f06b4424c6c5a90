// @ts-self-types="./index.d.ts"
"use strict";
// `@glion/mllp-client` and `@glion/mllp-client/node`: Node.js and Bun, over the native addon.

const native = require("./binding.js");
const ack = require("@glion/ack");
const { MllpClientError } = require("./lib/errors.js");
const { createClientClass } = require("./lib/native-client.js");

// On Node, plain-TCP sends to an IP address run on Node's own libuv loop (see README,
// "How a send runs"); Bun has no libuv loop to share. GLION_MLLP_IO=tokio turns it off.
const eventLoop = !process.versions.bun && typeof globalThis.Deno === "undefined" && process.env.GLION_MLLP_IO !== "tokio";

module.exports = { ...ack, MllpClient: createClientClass(native, { eventLoop }), MllpClientError };
