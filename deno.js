// @ts-self-types="./deno.d.ts"
"use strict";
// `@glion/mllp-client/deno`: the same native addon and API as the Node entry. Deno loads
// napi addons through its Node compatibility layer (needs --allow-ffi), so the loader is
// the generated binding.js as for Node; nothing else differs.

module.exports = require("./index.js");
