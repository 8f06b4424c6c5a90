// @ts-self-types="./outbox.d.ts"
"use strict";
// `@glion/mllp-client/outbox`: durable, ordered, at-least-once delivery (README, "Outbox").
// Node, Bun and Deno: the SQLite store runs in the native addon, PostgreSQL over npm `pg`.

const { Outbox } = require("./outbox.cjs");
const { MllpClientError } = require("./errors.cjs");

module.exports = { Outbox, MllpClientError };
