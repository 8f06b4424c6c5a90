"use strict";
// The native addon, loaded by napi-rs' generated loader (binding.cjs: this package's own
// `.node` from a source build, else the platform package `@glion/mllp-client-<platform>`).
// When neither loads, the loader's own message blames an npm bug; users get instead the
// platform that has no addon and the two ways out.

const fs = require("node:fs");
const path = require("node:path");

const SOURCE_BUILD = "install Rust from https://rustup.rs and build it from source (a git checkout: `npm install`)";
const PREBUILT = "use a platform with a prebuilt binary";

/** napi-rs' name for a Rust target triple: x86_64-unknown-linux-gnu -> linux-x64-gnu. */
function platformOfTriple(triple) {
  const [arch, , system, abi] = triple.split("-");
  const cpu = { x86_64: "x64", aarch64: "arm64", i686: "ia32", armv7: "arm" }[arch] ?? arch;
  if (triple.includes("-apple-darwin")) return `darwin-${cpu}`;
  if (triple.includes("-pc-windows-")) return `win32-${cpu}-${triple.split("-").pop()}`;
  return `${system}-${cpu}${abi ? `-${abi}` : ""}`;
}

/**
 * Whether this Linux runs on musl, as napi's loader decides it: /usr/bin/ldd names its C
 * library; else Node's report (which Deno only gives with --allow-sys) has a glibc version.
 */
function isMusl() {
  try {
    return fs.readFileSync("/usr/bin/ldd", "utf8").includes("musl");
  } catch {
    try {
      return !process.report.getReport().header.glibcVersionRuntime;
    } catch {
      return false;
    }
  }
}

/** This process's platform in napi-rs' naming (linux adds the C library: gnu or musl). */
function currentPlatform() {
  const { platform, arch } = process;
  if (platform === "win32") return `win32-${arch}-msvc`;
  if (platform !== "linux") return `${platform}-${arch}`;
  return `linux-${arch}-${isMusl() ? "musl" : "gnu"}`;
}

/** The platforms the release workflow publishes a binary for (package.json `napi.targets`). */
function prebuiltPlatforms() {
  return require(path.join(__dirname, "..", "package.json")).napi.targets.map(platformOfTriple);
}

/**
 * Why no binary loaded: the first line of each error in the loader's `cause` chain, except
 * its own summary and the WebAssembly (WASI) builds this package does not publish.
 */
function loadFailures(error) {
  const lines = [];
  for (let at = error?.cause; at; at = at.cause) {
    const line = String(at.message ?? at).split("\n")[0];
    if (!/wasi|Cannot find native binding/i.test(line)) lines.push(line);
  }
  return lines.join("; ");
}

/** The error a load failure becomes: the platform and the two ways out, with the loader's error as `cause`. */
function addonLoadError(error, platform = currentPlatform(), prebuilt = prebuiltPlatforms()) {
  const message = prebuilt.includes(platform)
    ? `@glion/mllp-client: the native addon for ${platform} did not load (${loadFailures(error)}). ` +
      `Its binary comes in the optional dependency @glion/mllp-client-${platform}: reinstall without ` +
      `--omit=optional / --no-optional (and on Deno, run with --allow-ffi --allow-read). ` +
      `Otherwise ${SOURCE_BUILD}, or ${PREBUILT}.`
    : `@glion/mllp-client has no prebuilt native addon for ${platform} ` +
      `(prebuilt: ${prebuilt.join(", ")}). Either ${SOURCE_BUILD}, or ${PREBUILT}.`;
  const wrapped = new Error(message);
  wrapped.code = "ERR_GLION_NO_NATIVE_ADDON";
  wrapped.cause = error;
  return wrapped;
}

function loadAddon() {
  try {
    return require("../binding.cjs");
  } catch (error) {
    // Only "no binary found" is explained here; a binary that loads and then throws is a bug
    // to see as it is.
    if (/Cannot find native binding/.test(error?.message)) throw addonLoadError(error);
    throw error;
  }
}

module.exports = { loadAddon, addonLoadError, currentPlatform, platformOfTriple, prebuiltPlatforms };
