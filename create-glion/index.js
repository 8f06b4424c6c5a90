#!/usr/bin/env node
"use strict";
// create-glion: scaffold a Glion example app.
//
//   npm create glion@latest my-mllp-client -- --example mllp-client
//   pnpm create glion my-mllp-client --example mllp-client
//   node create-glion/index.js /tmp/my-mllp-client --local .     (from a repo checkout)
//
// Node >= 18, CommonJS, no dependencies.

const fs = require("node:fs");
const path = require("node:path");
const { parseArgs } = require("node:util");

const DEFAULT_EXAMPLE = "mllp-client";
const GLION_VERSION = "^0.1.0";
/** The Glion packages an example may depend on, and where each lives in the repo. */
const GLION_PACKAGES = { "@glion/mllp-client": ".", "@glion/ack": "ack" };
/** Never copied from an example directory. */
const SKIP = new Set(["node_modules", "dist", ".turbo", "package-lock.json", "pnpm-lock.yaml", "yarn.lock", "bun.lock", "bun.lockb"]);

class UsageError extends Error {}

/** The repo checkout this file sits in (create-glion/ inside it), or undefined when installed from npm. */
function repoCheckout() {
  const root = path.resolve(__dirname, "..");
  const pkg = readJson(path.join(root, "package.json"));
  if (pkg && pkg.name === "@glion/mllp-client" && isDir(path.join(root, "examples"))) return root;
  return undefined;
}

/**
 * Where the examples are: in a repo checkout, its examples/ (always current); in the
 * published package, templates/ (copied from ../examples by the prepack script).
 */
function examplesRoot() {
  const repo = repoCheckout();
  if (repo) return { dir: path.join(repo, "examples"), repo };
  return { dir: path.join(__dirname, "templates"), repo: undefined };
}

function listExamples(root) {
  if (!isDir(root)) return [];
  return fs
    .readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(root, entry.name, "package.json")))
    .map((entry) => {
      const pkg = readJson(path.join(root, entry.name, "package.json")) || {};
      return { name: entry.name, description: pkg.description || "" };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}

function isDir(p) {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function usage(examples) {
  const list = examples.length
    ? examples.map((e) => `  ${e.name}${e.name === DEFAULT_EXAMPLE ? " (default)" : ""}${e.description ? `  ${e.description}` : ""}`).join("\n")
    : "  (none found)";
  return `Usage: npm create glion@latest <dir> -- [--example <name>] [--local <repo>]

Create a new app in <dir> (which must not exist, or be empty) from a Glion example.

Options:
  --example <name>  the example to copy (default: ${DEFAULT_EXAMPLE})
  --local <repo>    depend on the @glion packages of a local checkout of the repo (file:
                    dependencies, so \`npm install\` works offline) instead of ^0.1.0 from npm
  -h, --help        show this help

Examples:
${list}`;
}

/** A valid npm package name from a directory name. */
function packageName(dir) {
  const name = path
    .basename(path.resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9._~-]+/g, "-")
    .replace(/^[._-]+/, "")
    .replace(/-+$/, "");
  return name || "glion-app";
}

/** Copy an example, skipping installs and lockfiles; `_gitignore` (as published) becomes `.gitignore`. */
function copyDir(from, to) {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name === "_gitignore" ? ".gitignore" : entry.name);
    if (entry.isDirectory()) copyDir(source, target);
    else if (entry.isFile()) fs.copyFileSync(source, target);
  }
}

/** `npm`, `pnpm`, `yarn` or `bun`: whichever ran `create glion`. */
function packageManager() {
  const agent = process.env.npm_config_user_agent || "";
  for (const pm of ["pnpm", "yarn", "bun"]) if (agent.startsWith(`${pm}/`)) return pm;
  return "npm";
}

/**
 * Whether a local checkout can serve its packages: its dependencies installed (the linked
 * @glion/mllp-client resolves @glion/ack from the checkout's own node_modules) and the
 * native addon built. A fresh clone has neither until `npm install` runs there.
 */
function checkoutReady(local) {
  const hasAck = fs.existsSync(path.join(local, "node_modules", "@glion", "ack", "package.json"));
  const hasAddon = fs.readdirSync(local).some((file) => file.endsWith(".node"));
  return hasAck && hasAddon;
}

/** A directory as the user should type it: relative to where they are when that is shorter. */
function shown(dir) {
  const relative = path.relative(process.cwd(), dir);
  const cd = relative === "" ? "." : relative.startsWith("..") ? dir : relative;
  return /\s/.test(cd) ? JSON.stringify(cd) : cd;
}

function nextSteps(dir, pm, unbuiltCheckout) {
  const run = (script, args) =>
    pm === "npm" ? `npm run ${script} -- ${args}` : pm === "bun" ? `bun run ${script} ${args}` : `${pm} ${script} ${args}`;
  // The checkout installs with npm whatever runs the app: it is an npm workspaces repo.
  const first = unbuiltCheckout ? `  (cd ${shown(unbuiltCheckout)} && npm install)   # once: installs the checkout and builds its native addon (cargo)\n` : "";
  return `Next steps:
${first}  cd ${shown(dir)}
  ${pm} install
  ${run("send", "--sample adt-a01")}

Need a receiver on 127.0.0.1:2575? Start the bundled test receiver in a second terminal first:
  ${pm === "npm" ? "npm run receive" : pm === "bun" ? "bun run receive" : `${pm} receive`}`;
}

function main(argv) {
  const { dir: root, repo } = examplesRoot();
  const examples = listExamples(root);

  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        example: { type: "string", short: "e" },
        local: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError(error.message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(usage(examples));
    return 0;
  }
  if (positionals.length === 0) throw new UsageError("missing <dir>: where to create the app, e.g. my-mllp-client");
  if (positionals.length > 1) throw new UsageError(`expected one <dir>, got ${positionals.length}: ${positionals.join(" ")}`);

  const example = values.example === undefined ? DEFAULT_EXAMPLE : values.example;
  const found = examples.find((e) => e.name === example);
  if (!found) {
    throw new UsageError(
      `unknown example ${JSON.stringify(example)}; available: ${examples.map((e) => e.name).join(", ") || "(none)"}`,
    );
  }

  // Where the @glion packages come from: a local checkout (--local, or the one we run from).
  let local;
  if (values.local !== undefined) {
    local = path.resolve(values.local);
    for (const [name, rel] of Object.entries(GLION_PACKAGES)) {
      const pkg = readJson(path.join(local, rel, "package.json"));
      if (!pkg || pkg.name !== name) {
        throw new UsageError(`--local ${values.local}: ${path.join(local, rel)} is not the ${name} package`);
      }
    }
  } else if (repo) {
    local = repo;
  }

  const target = path.resolve(positionals[0]);
  if (fs.existsSync(target)) {
    if (!isDir(target)) throw new UsageError(`${positionals[0]} exists and is not a directory`);
    if (fs.readdirSync(target).length > 0) {
      throw new UsageError(`${positionals[0]} is not empty; choose a new directory (or empty this one)`);
    }
  }

  copyDir(path.join(root, example), target);

  const pkgFile = path.join(target, "package.json");
  const pkg = readJson(pkgFile);
  pkg.name = packageName(target);
  for (const field of ["dependencies", "devDependencies"]) {
    const deps = pkg[field];
    if (!deps) continue;
    for (const [name, rel] of Object.entries(GLION_PACKAGES)) {
      if (name in deps) deps[name] = local ? `file:${path.join(local, rel)}` : GLION_VERSION;
    }
  }
  fs.writeFileSync(pkgFile, `${JSON.stringify(pkg, null, 2)}\n`);

  console.log(`Created ${pkg.name} in ${target} from the ${example} example.`);
  const unbuilt = local && !checkoutReady(local) ? local : undefined;
  if (local) {
    console.log(`The @glion packages point at the local checkout ${local} (file: dependencies).`);
    if (unbuilt) {
      console.log(`That checkout is not installed yet (no node_modules or no built addon): run \`npm install\` in ${local} first.`);
    } else {
      console.log("npm install links them and runs the checkout's prepare script (a cargo build of the addon);");
      console.log("when the addon is already built, `npm install --ignore-scripts` skips that.");
    }
  }
  console.log(`\n${nextSteps(target, packageManager(), unbuilt)}`);
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`create-glion: ${error.message}`);
    console.error("Run with --help for usage and the list of examples.");
    process.exitCode = 1;
  }
}

module.exports = { main, copyDir, SKIP };
