"use strict";
// `prepare`: build the native addon from source with cargo, unless the built addon is newer
// than every Rust source (a linked install, e.g. the example app's `file:` dependency,
// must not rebuild, and rewrite, an addon that is already in use).

const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..");
const mtime = (file) => fs.statSync(file).mtimeMs;

function newestSource() {
  let newest = Math.max(mtime(path.join(root, "Cargo.toml")), mtime(path.join(root, "build.rs")));
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const at = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(at);
      else if (entry.name.endsWith(".rs")) newest = Math.max(newest, mtime(at));
    }
  };
  walk(path.join(root, "src"));
  return newest;
}

/** The built addons, when every one is newer than every Rust source (else undefined). */
function currentAddons() {
  const addons = fs.readdirSync(root).filter((f) => f.endsWith(".node"));
  const built = addons.length > 0 && fs.existsSync(path.join(root, "binding.cjs"));
  return built && Math.min(...addons.map((f) => mtime(path.join(root, f)))) > newestSource() ? addons : undefined;
}

function main() {
  const addons = currentAddons();
  if (addons && process.env.GLION_FORCE_BUILD !== "1") {
    console.log(`native addon is up to date (${addons.join(", ")}); set GLION_FORCE_BUILD=1 to rebuild`);
  } else if (spawnSync("cargo", ["--version"], { stdio: "ignore" }).error) {
    // The one requirement of a source build; napi's own error would only say "spawn cargo ENOENT".
    console.error(
      "@glion/mllp-client: building the native addon from source needs Rust (cargo), which is not on PATH: " +
        "install Rust from rustup.rs, or use a platform with a prebuilt binary (README, Install).",
    );
    process.exitCode = 1;
  } else {
    const run = spawnSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
    process.exitCode = run.status ?? 1;
  }
}

if (require.main === module) main();

module.exports = { currentAddons };
