"use strict";
// Installing where no binary fits, and the release layout (README, "Install"):
//  - an installed package whose platform has no addon says which platform and the two ways
//    out (Rust from rustup.rs and a source build, or a platform with a prebuilt binary),
//    never napi's generic "npm has a bug related to optional dependencies";
//  - a source build without cargo says the same, not "spawn cargo ENOENT";
//  - npm/<platform>/ holds one package per napi target, and the checkout's package.json
//    lists none of them (napi prepublish writes optionalDependencies at publish time).

const test = require("node:test");
const { after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const { spawnSync } = require("node:child_process");
const path = require("node:path");

const { runProcess, pathWithoutCargo } = require("./helpers.js");
const { currentPlatform, platformOfTriple } = require("../lib/addon.cjs");

const REPO = path.resolve(__dirname, "..");
const DENO = path.join(REPO, "node_modules", ".bin", "deno");
const PKG = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8"));
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "glion-install-"));
after(() => fs.rmSync(TMP, { recursive: true, force: true }));

/**
 * A project with @glion/mllp-client installed from this checkout's published files but no
 * `.node` anywhere (no source build, no platform package): what a user on a platform
 * without a binary has. `editPackage` changes the copied package.json.
 */
function projectWithoutAddon(name, editPackage = (pkg) => pkg) {
  const project = path.join(TMP, name);
  const installed = path.join(project, "node_modules", "@glion", "mllp-client");
  for (const entry of ["index.cjs", "index.mjs", "index.d.ts", "binding.cjs", "lib"]) {
    fs.cpSync(path.join(REPO, entry), path.join(installed, entry), { recursive: true });
  }
  fs.writeFileSync(path.join(installed, "package.json"), JSON.stringify(editPackage(structuredClone(PKG)), null, 2));
  fs.cpSync(path.join(REPO, "ack"), path.join(project, "node_modules", "@glion", "ack"), { recursive: true, filter: (src) => !src.includes(`${path.sep}test`) });
  fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name, private: true, dependencies: { "@glion/mllp-client": PKG.version, "@glion/ack": PKG.version } }));
  return project;
}

// The deno npm package's binary; the release workflow's musl containers cannot run it.
const denoVersion = spawnSync(DENO, ["--version"], { encoding: "utf8" });
const DENO_MISSING = denoVersion.status === 0 ? undefined : `${DENO} --version failed (${denoVersion.error?.message ?? denoVersion.stderr?.trim()})`;

/** Loads the package by require() and by import in a fresh Node, and in Deno; returns the results. */
async function loadEach(t, project) {
  const cjs = await runProcess(process.execPath, ["-e", 'require("@glion/mllp-client")'], { cwd: project });
  const esm = await runProcess(process.execPath, ["--input-type=module", "-e", 'await import("@glion/mllp-client")'], { cwd: project });
  if (DENO_MISSING) {
    t.diagnostic(`Deno part skipped: ${DENO_MISSING}`);
    return { "node require": cjs, "node import": esm };
  }
  const script = path.join(project, "load.mjs");
  fs.writeFileSync(script, 'await import("@glion/mllp-client/deno");\n');
  const deno = await runProcess(DENO, ["run", "--allow-read", "--allow-ffi", "--allow-env", "--node-modules-dir=manual", script], { cwd: project, env: { ...process.env, NO_COLOR: "1" } });
  return { "node require": cjs, "node import": esm, deno };
}

function assertTwoWaysOut(runtime, result, platform) {
  assert.notEqual(result.code, 0, `${runtime}: loading must fail: ${result.stdout}`);
  assert.match(result.stderr, new RegExp(`@glion/mllp-client.*${platform}`));
  assert.match(result.stderr, /install Rust from https:\/\/rustup\.rs and build it from source/);
  assert.match(result.stderr, /use a platform with a prebuilt binary/);
  if (runtime !== "deno") assert.match(result.stderr, /ERR_GLION_NO_NATIVE_ADDON/, "Node prints the error's code"); // Deno does not print it
  assert.doesNotMatch(result.stderr.split("\n").find((line) => line.startsWith("Error")) ?? "", /npm has a bug/);
}

test("install: a platform without a prebuilt binary gets its name, the prebuilt list and the two ways out (require, import, Deno)", async (t) => {
  const platform = currentPlatform();
  const ownTriple = PKG.napi.targets.find((triple) => platformOfTriple(triple) === platform);
  assert.ok(ownTriple, `this machine (${platform}) is one of napi.targets`);
  // This machine's platform taken out of napi.targets: the package as it would be on a platform with no binary.
  const project = projectWithoutAddon("no-prebuilt", (pkg) => ({ ...pkg, napi: { ...pkg.napi, targets: pkg.napi.targets.filter((t) => t !== ownTriple) } }));
  for (const [runtime, result] of Object.entries(await loadEach(t, project))) {
    assertTwoWaysOut(runtime, result, platform);
    assert.match(result.stderr, new RegExp(`has no prebuilt native addon for ${platform} \\(prebuilt: `));
    assert.match(result.stderr, /darwin-arm64/, "the platforms that have one are listed");
  }
});

test("install: a platform with a binary whose package is missing names that package, then the two ways out", async (t) => {
  const platform = currentPlatform();
  const project = projectWithoutAddon("package-missing");
  for (const [runtime, result] of Object.entries(await loadEach(t, project))) {
    assertTwoWaysOut(runtime, result, platform);
    assert.match(result.stderr, new RegExp(`the native addon for ${platform} did not load`));
    assert.match(result.stderr, new RegExp(`optional dependency @glion/mllp-client-${platform}`));
  }
});

test("install: a source build with no cargo on PATH says: install Rust from rustup.rs, or use a platform with a prebuilt binary", async () => {
  const result = await runProcess(process.execPath, [path.join(REPO, "scripts", "build-if-needed.js")], {
    env: { ...process.env, PATH: pathWithoutCargo(), GLION_FORCE_BUILD: "1" },
  });
  assert.equal(result.code, 1, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stderr, /needs Rust \(cargo\), which is not on PATH: install Rust from rustup\.rs, or use a platform with a prebuilt binary/);
});

test("install: npm/<platform>/ is one package per napi target; the checkout lists none as a dependency", () => {
  assert.equal(PKG.optionalDependencies, undefined, "napi prepublish writes optionalDependencies at publish; a checkout's npm install must not fetch them");
  const dirs = fs.readdirSync(path.join(REPO, "npm")).sort();
  assert.deepEqual(dirs, PKG.napi.targets.map(platformOfTriple).sort());
  for (const dir of dirs) {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, "npm", dir, "package.json"), "utf8"));
    assert.equal(pkg.name, `@glion/mllp-client-${dir}`);
    assert.equal(pkg.version, PKG.version, `${dir} version follows the main package`);
    assert.equal(pkg.main, `mllp-client.${dir}.node`);
    assert.deepEqual(pkg.files, [pkg.main]);
    const [os_, cpu] = dir.split("-");
    assert.deepEqual([pkg.os, pkg.cpu], [[os_], [cpu]]);
    if (dir.endsWith("-gnu")) assert.deepEqual(pkg.libc, ["glibc"]);
    if (dir.endsWith("-musl")) assert.deepEqual(pkg.libc, ["musl"]);
  }
});

const CHECK_GLIBC_SKIP = currentPlatform() !== "linux-x64-gnu"
  ? `the check reads a Linux x64 glibc addon; this is ${currentPlatform()}`
  : spawnSync("objdump", ["--version"]).status !== 0 && "objdump (binutils) is not installed";

test("install: check-glibc reads objdump -T: a symbol version above the limit fails, listing it", { skip: CHECK_GLIBC_SKIP }, async () => {
  const addon = path.join(REPO, "mllp-client.linux-x64-gnu.node");
  // Every x86_64 glibc build imports memcpy@GLIBC_2.14 (its 2.2.5 version was replaced then).
  const tooOld = await runProcess(process.execPath, [path.join(REPO, "scripts", "check-glibc.js"), addon, "2.13"]);
  assert.equal(tooOld.code, 1, `${tooOld.stdout}\n${tooOld.stderr}`);
  assert.match(tooOld.stderr, /^mllp-client\.linux-x64-gnu\.node needs glibc newer than 2\.13: .*GLIBC_2\.14: [^;]*\bmemcpy\b/m);
  const newest = await runProcess(process.execPath, [path.join(REPO, "scripts", "check-glibc.js"), addon, "99.0"]);
  assert.equal(newest.code, 0, `${newest.stdout}\n${newest.stderr}`);
  assert.match(newest.stdout, /no symbol newer than GLIBC_99\.0/);
});
