"use strict";
// The native addon, loaded by napi-rs' generated loader (binding.cjs: this package's own
// `.node` from a source build, else the platform package `@glion/mllp-client-<platform>`).
// When neither loads, the loader's own message blames an npm bug; users get instead the
// platform that has no addon and the two ways out.

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

/** This process's platform in napi-rs' naming (linux adds the C library: gnu or musl). */
function currentPlatform() {
  const { platform, arch } = process;
  if (platform === "win32") return `win32-${arch}-msvc`;
  if (platform !== "linux") return `${platform}-${arch}`;
  const glibc = process.report?.getReport?.()?.header?.glibcVersionRuntime;
  return `linux-${arch}-${glibc ? "gnu" : "musl"}`;
}

/** The platforms the release workflow publishes a binary for (package.json `napi.targets`). */
function prebuiltPlatforms() {
  return require(path.join(__dirname, "..", "package.json")).napi.targets.map(platformOfTriple);
}

/** First message of the loader's error chain (`cause`s), for the reason a binary did not load. */
function firstCause(error) {
  let at = error;
  while (at?.cause) at = at.cause;
  return at?.message ?? String(at);
}

/** The error a load failure becomes: the platform and the two ways out, with the loader's error as `cause`. */
function addonLoadError(error, platform = currentPlatform(), prebuilt = prebuiltPlatforms()) {
  const message = prebuilt.includes(platform)
    ? `@glion/mllp-client: the native addon for ${platform} did not load (${firstCause(error)}). ` +
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
