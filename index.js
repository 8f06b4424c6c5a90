// @ts-self-types="./index.d.ts"
"use strict";
// `@glion/mllp-client` and `@glion/mllp-client/node`: Node.js and Bun, over the native addon.

const native = require("./binding.js");
const ack = require("@glion/ack");
const { MllpClientError } = require("./lib/errors.js");
const { createClientClass } = require("./lib/native-client.js");

module.exports = { ...ack, MllpClient: createClientClass(native), MllpClientError };
