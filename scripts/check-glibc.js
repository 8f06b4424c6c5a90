"use strict";
// `node scripts/check-glibc.js <file.node> [2.17]`: fails when the file imports a glibc
// symbol version newer than the given one (default 2.17), read with `objdump -T`. Used by
// scripts/build-linux-compat.js and the release workflow.

const { spawnSync } = require("node:child_process");
const path = require("node:path");

const compare = (a, b) => {
  const [x, y] = [a, b].map((v) => v.split(".").map(Number));
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
};

/** undefined when `file` needs nothing newer than GLIBC_<max>, else what is wrong. */
function checkGlibc(file, max = "2.17") {
  // OBJDUMP: another architecture's objdump (aarch64-linux-gnu-objdump on an x64 host).
  const objdump = process.env.OBJDUMP || "objdump";
  const dump = spawnSync(objdump, ["-T", file], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (dump.status !== 0) return `${objdump} -T ${file} failed: ${dump.error?.message ?? dump.stderr.trim()}`;
  const newer = new Map(); // version -> symbols
  let versions = 0;
  for (const line of dump.stdout.split("\n")) {
    const match = /\bGLIBC_(\d+(?:\.\d+)+)\)?\s+(\S+)\s*$/.exec(line);
    if (!match) continue;
    versions += 1;
    if (compare(match[1], max) > 0) newer.set(match[1], [...(newer.get(match[1]) ?? []), match[2]]);
  }
  if (versions === 0) return `${objdump} -T ${file} lists no GLIBC_ symbol: not a glibc-linked shared object?`;
  if (newer.size === 0) return undefined;
  const list = [...newer].sort(([a], [b]) => compare(b, a)).map(([version, symbols]) => `GLIBC_${version}: ${symbols.join(", ")}`);
  return `${path.basename(file)} needs glibc newer than ${max}: ${list.join("; ")}`;
}

if (require.main === module) {
  const [file, max = "2.17"] = process.argv.slice(2);
  if (!file) {
    console.error("usage: node scripts/check-glibc.js <file.node> [max glibc version, default 2.17]");
    process.exit(2);
  }
  const problem = checkGlibc(file, max);
  if (problem) {
    console.error(problem);
    process.exit(1);
  }
  console.log(`${file}: no symbol newer than GLIBC_${max}`);
}

module.exports = { checkGlibc };
