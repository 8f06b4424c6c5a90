"use strict";
// Ours with the message given as bytes (a Buffer, rewritten in place per message) instead of
// a string: the same client, without the string → UTF-8 conversion at the napi boundary.
// Shown in the 8 MiB case to separate that conversion from the rest of the send.
const glion = require("./glion.js");
const { defineClient } = require("./_driver.js");

module.exports = defineClient({
  name: "glion-bytes",
  supports: glion.supports,
  input: "bytes",
  perMessage: glion.perMessage,
  connect: glion.connect,
});
