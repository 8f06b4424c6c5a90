"use strict";
// The CI-sized soak (issue 8, item 4): scripts/soak.js with 20,000 sends must exit 0 (RSS
// and open fds flat after the warm-up, every send AA with its own control id). Two smaller
// runs with a simulated leak prove that the script's bounds do catch one.

const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");
const { runProcess } = require("./helpers.js");

const SCRIPT = path.join(__dirname, "..", "scripts", "soak.js");

/** Run scripts/soak.js with `args`; resolves with { code, signal, stdout, stderr }. */
function soak(args, limitMs = 120000) {
  return runProcess(process.execPath, [SCRIPT, ...args], { limitMs });
}

/** The table rows of the soak's output: { sends, rssMiB, fds }. */
function rows(stdout) {
  return stdout
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter((cells) => cells.length === 7 && cells.every((c) => /^\d+(\.\d+)?$/.test(c)))
    .map((cells) => ({ sends: Number(cells[0]), rssMiB: Number(cells[2]), fds: Number(cells[6]) }));
}

test("soak: 20,000 sends keep RSS and open fds flat after the warm-up (scripts/soak.js exits 0)", { timeout: 180000 }, async () => {
  const run = await soak(["--sends", "20000"]);
  console.log(run.stdout.trimEnd().split("\n").map((l) => `soak | ${l}`).join("\n"));
  assert.equal(run.stderr.replace(/^.*ExperimentalWarning.*$/gm, "").trim(), "", "nothing on stderr");
  assert.equal(run.code, 0, `soak failed:\n${run.stdout}`);
  assert.match(run.stdout, /^soak: PASS$/m);
  const table = rows(run.stdout);
  assert.ok(table.length >= 20, `only ${table.length} samples`);
  assert.equal(table[table.length - 1].sends, 20000, "every send settled");
  const afterWarmup = table.filter((r) => r.sends >= 4000);
  const fds = afterWarmup.map((r) => r.fds);
  assert.ok(Math.max(...fds) - fds[0] <= 16, `fds after the warm-up: ${fds.join(" ")}`);
  const rss = afterWarmup.map((r) => r.rssMiB);
  assert.ok(Math.max(...rss) - rss[0] <= 20, `RSS after the warm-up (MiB): ${rss.join(" ")}`);
});

test("soak: the RSS bound catches a simulated leak (4 KiB kept per send -> exit 1)", { timeout: 120000 }, async () => {
  const run = await soak(["--sends", "10000", "--retain-bytes-per-send", "4096"]);
  assert.equal(run.code, 1, `a leaking soak passed:\n${run.stdout}`);
  assert.match(run.stdout, /^soak: FAIL: .*RSS grew [\d.]+ MB after the warm-up \(bound 20 MB\)/m);
});

test("soak: the fd bound catches a simulated descriptor leak (one per 200 sends -> exit 1)", { timeout: 120000 }, async () => {
  const run = await soak(["--sends", "10000", "--leak-fd-every", "200"]);
  assert.equal(run.code, 1, `a leaking soak passed:\n${run.stdout}`);
  assert.match(run.stdout, /^soak: FAIL: .*open fds grew by \d+ after the warm-up \(bound 16\)/m);
});
