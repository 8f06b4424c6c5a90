#!/usr/bin/env node
"use strict";
// `npm pack` / `npm publish` of create-glion: copy the repo's examples into templates/ so the
// published package carries them (the CLI reads ../examples directly when run from the repo).
// npm never packs a file named .gitignore, so it travels as _gitignore and the CLI renames it
// back. `node prepack.js --clean` (the postpack script) removes templates/ again.

const fs = require("node:fs");
const path = require("node:path");
const { SKIP } = require("./index.js");

const examples = path.resolve(__dirname, "..", "examples");
const templates = path.join(__dirname, "templates");

function copyForPack(from, to) {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name === ".gitignore" ? "_gitignore" : entry.name);
    if (entry.isDirectory()) copyForPack(source, target);
    else if (entry.isFile()) fs.copyFileSync(source, target);
  }
}

fs.rmSync(templates, { recursive: true, force: true });
if (process.argv.includes("--clean")) process.exit(0);

if (!fs.existsSync(examples)) {
  console.error(`prepack: ${examples} not found; run npm pack from the repo checkout`);
  process.exit(1);
}
let count = 0;
for (const entry of fs.readdirSync(examples, { withFileTypes: true })) {
  if (!entry.isDirectory() || !fs.existsSync(path.join(examples, entry.name, "package.json"))) continue;
  copyForPack(path.join(examples, entry.name), path.join(templates, entry.name));
  count += 1;
}
console.error(`prepack: copied ${count} example(s) into templates/`);
