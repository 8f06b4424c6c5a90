"use strict";
// `npm run build:linux-compat`: the Linux x64 (glibc) addon that ships in
// @glion/mllp-client-linux-x64-gnu, linked against glibc 2.17 (RHEL/CentOS 7 and newer) with
// zig as the C toolchain (cargo-zigbuild, through the napi CLI's `-x`), then checked: no
// symbol it imports may be newer than GLIBC_2.17 (scripts/check-glibc.js). The release
// workflow runs the same script.
//
// Needs Rust and Python 3. Zig comes from PyPI (`ziglang`, in a venv under
// node_modules/.cache) unless `zig` is on PATH; cargo-zigbuild is installed with
// `cargo install` unless cargo already has it.

const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { checkGlibc } = require("./check-glibc.js");

const root = path.join(__dirname, "..");
const GLIBC = "2.17";
const TARGET = `x86_64-unknown-linux-gnu.${GLIBC}`;
const ADDON = path.join(root, "mllp-client.linux-x64-gnu.node");
// Versions this build was checked with (the objdump check guards any other).
const ZIGLANG = "ziglang==0.17.1";
const CARGO_ZIGBUILD = "cargo-zigbuild@0.24.1";

function run(cmd, args, options = {}) {
  console.log(`$ ${[cmd, ...args].join(" ")}`);
  const result = spawnSync(cmd, args, { stdio: "inherit", cwd: root, ...options });
  if (result.status !== 0) {
    console.error(`build:linux-compat: \`${cmd} ${args.join(" ")}\` failed (${result.error?.message ?? `exit ${result.status ?? result.signal}`})`);
    process.exit(1);
  }
}

const works = (cmd, args) => spawnSync(cmd, args, { stdio: "ignore" }).status === 0;

/** A folder with a `zig` executable: PATH's, or PyPI ziglang's in a venv (made once). */
function zigDir() {
  if (works("zig", ["version"])) return undefined;
  const venv = path.join(root, "node_modules", ".cache", "glion-zig");
  const python = path.join(venv, "bin", "python");
  const find = () => spawnSync(python, ["-c", "import ziglang, os; print(os.path.dirname(ziglang.__file__))"], { encoding: "utf8" });
  let found = fs.existsSync(python) ? find() : undefined;
  if (found?.status !== 0) {
    run("python3", ["-m", "venv", venv]);
    run(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", ZIGLANG]);
    found = find();
  }
  return found.stdout.trim();
}

if (process.platform !== "linux" || process.arch !== "x64") {
  console.error(`build:linux-compat builds on Linux x64 only (this is ${process.platform}-${process.arch})`);
  process.exit(1);
}
const zig = zigDir();
const env = { ...process.env, PATH: zig ? `${zig}${path.delimiter}${process.env.PATH}` : process.env.PATH };
if (!works("cargo", ["zigbuild", "--help"])) run("cargo", ["install", "--locked", CARGO_ZIGBUILD]);
run(path.join(root, "node_modules", ".bin", "napi"), ["build", "--platform", "--release", "-x", "--target", TARGET, "--js", "binding.cjs", "--dts", "binding.d.ts"], { env });

const problem = checkGlibc(ADDON, GLIBC);
if (problem) {
  console.error(`build:linux-compat: ${problem}`);
  process.exit(1);
}
console.log(`build:linux-compat: ${path.basename(ADDON)} needs nothing newer than GLIBC_${GLIBC}`);
