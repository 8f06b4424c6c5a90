#!/usr/bin/env node
"use strict";
// Where each client's CPU time per message goes, from `perf record` call stacks, so that the
// distance between ours and the Rust limit (or PyPI hl7) is accounted for microsecond by
// microsecond rather than guessed:
//
//   node profile.js [--case persistent-c1-shared] [--clients glion,python-hl7,rust]
//                   [--seconds 4] [--no-pin] [--keep DIR]
//
// Runs each client once in the case (same receiver, same placement and flags as run.js),
// under `perf record -g` (Node clients with --perf-basic-prof, so JIT frames have names),
// then sorts every sample of the client process into one category by its stack (kernel
// work by the system call it serves; user work by the code it runs in) and prints each
// category in microseconds per message: its share of the samples times the client's CPU
// time per message in the measured phase. Startup and warm-up samples are in the shares
// (under 3% of a 4 s run). GLION_BENCH_ADDON (README, "Profiling our client") gives the
// addon's frames names; without it they are still counted as "addon".
//
// Needs `perf` and the bench's Rust helpers (`node run.js` builds them once).

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { parseArgs } = require("node:util");
const { CASES, CLIENTS, PLACEMENT, Receiver, runClient, buildNative, makeEightMiB } = require("./run.js");

/** Kernel samples, by the first matching frame of the stack (leaf first). */
const KERNEL = [
  ["kernel: context switches (sleep, wake-up, preemption)", /^(finish_task_switch|__schedule|schedule)\b/],
  ["kernel: send (write/writev/sendto + loopback delivery)", /^(do_writev|vfs_writev|__sys_sendto|__x64_sys_write|ksys_write|tcp_sendmsg)/],
  ["kernel: receive (read/recvfrom)", /^(__sys_recvfrom|__x64_sys_recvfrom|ksys_read|__x64_sys_read|tcp_recvmsg|sock_recvmsg)/],
  ["kernel: poll (epoll_wait, select)", /^(do_epoll_wait|do_epoll_pwait|__x64_sys_epoll|do_select|do_sys_poll|__x64_sys_poll)/],
  ["kernel: connect, accept, close, socket", /^(__sys_connect|tcp_v4_connect|__x64_sys_close|__fput|__sys_socket|tcp_close|__sys_accept|inet_release)/],
  ["kernel: epoll_ctl", /^(do_epoll_ctl|__x64_sys_epoll_ctl)/],
];

/** User samples, by the object the leaf frame is in. */
function userCategory(sym, dso) {
  if (/^JS:|^\*|^~/.test(sym) || dso.startsWith("[JIT]") || /perf-\d+\.map/.test(dso)) return "JS (JIT-compiled code)";
  if (/glion|mllp-client/.test(dso)) return "addon (our Rust, napi-rs glue)";
  if (/libc\.so|libm\.so|ld-linux|libpthread/.test(dso)) return "libc (malloc/free, memcpy, syscall stubs)";
  if (/libstdc\+\+|libgcc/.test(dso)) return "libstdc++";
  if (/\/node$|^node$/.test(dso)) return "Node and V8 runtime (builtins, napi, libuv, GC)";
  if (/libpython/.test(dso) || /python/.test(dso)) return "Python interpreter";
  if (/bench-client/.test(dso)) return "Rust client (tokio)";
  if (dso === "[vdso]") return "vdso (clock_gettime)";
  return `other user (${path.basename(dso)})`;
}

function categorize(stack) {
  const [leafSym, leafDso] = stack[0];
  if (leafDso === "[kernel.kallsyms]") {
    for (const [sym] of stack) {
      for (const [name, re] of KERNEL) if (re.test(sym)) return name;
    }
    return "kernel: other (page faults, timers, interrupts)";
  }
  return userCategory(leafSym, leafDso);
}

/**
 * The client process's samples by category, from `perf script`. The client is the process
 * with the most samples (perf records the wrapped command: `taskset` execs the client, and
 * a Node client's helper threads share its pid).
 */
function categories(data) {
  const r = spawnSync("perf", ["script", "-i", data, "-F", "pid,ip,sym,dso", "--no-demangle"], { encoding: "utf8", maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`perf script: ${r.stderr.slice(-400)}`);
  const byPid = new Map();
  let samplePid = null;
  let stack = [];
  const flush = () => {
    if (samplePid !== null && stack.length) {
      if (!byPid.has(samplePid)) byPid.set(samplePid, { counts: new Map(), total: 0 });
      const p = byPid.get(samplePid);
      const c = categorize(stack);
      p.counts.set(c, (p.counts.get(c) ?? 0) + 1);
      p.total++;
    }
    stack = [];
    samplePid = null;
  };
  for (const line of r.stdout.split("\n")) {
    if (line.trim() === "") {
      flush();
      continue;
    }
    const head = /^\s*(\d+)\s*$/.exec(line);
    if (head) {
      flush();
      samplePid = Number(head[1]);
      continue;
    }
    const frame = /^\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)$/.exec(line);
    if (frame) stack.push([frame[1].replace(/\+0x[0-9a-f]+$/, ""), frame[2]]);
  }
  flush();
  return [...byPid.values()].reduce((a, b) => (b.total > a.total ? b : a), { counts: new Map(), total: 0 });
}

async function main() {
  const { values } = parseArgs({
    options: {
      case: { type: "string", default: "persistent-c1-shared" },
      clients: { type: "string", default: "glion,python-hl7,rust" },
      seconds: { type: "string", default: "4" },
      "no-pin": { type: "boolean", default: false },
      keep: { type: "string" },
    },
  });
  const kase = CASES.find((k) => k.id === values.case);
  if (!kase) throw new Error(`unknown case ${values.case}; one of ${CASES.map((k) => k.id).join(", ")}`);
  if (kase.tls) throw new Error("the TLS case needs run.js's certificates; profile a plain case");
  const opts = { quick: false, seconds: Number(values.seconds), build: true };
  buildNative(opts);
  if (kase.message === "mdm8") makeEightMiB(path.join(__dirname, "..", "target", "bench", "mdm-t02-8mib.hl7"));
  const dir = values.keep ?? fs.mkdtempSync(path.join(os.tmpdir(), "glion-profile-"));
  fs.mkdirSync(dir, { recursive: true });
  const place = values["no-pin"] ? PLACEMENT.free : PLACEMENT[kase.placement];
  const rows = [];
  for (const id of values.clients.split(",")) {
    const client = CLIENTS.find((c) => c.id === id);
    if (!client) throw new Error(`unknown client ${id}`);
    const receiver = await Receiver.start(kase.enhanced ? ["--enhanced"] : [], place.receiver);
    const data = path.join(dir, `${kase.id}-${id}.data`);
    const wrap = ["perf", "record", "-q", "-F", "2999", "-g", "-o", data, "--"];
    if (client.kind === "node") process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} --perf-basic-prof`.trim();
    const r = await runClient(client, kase, receiver.port, opts, place.client, wrap);
    if (client.kind === "node") delete process.env.NODE_OPTIONS;
    await receiver.stop();
    if (r.failed || !r.ok) {
      console.log(`${id}: failed (${r.failed ?? r.firstError})`);
      continue;
    }
    const cpuUs = ((r.cpuUserS + r.cpuSysS) / r.ok) * 1e6;
    const { counts, total } = categories(data);
    rows.push({ id, cpuUs, rate: r.ok / r.elapsedS, counts, total });
    if (!values.keep) fs.rmSync(data, { force: true });
  }
  if (!values.keep) fs.rmSync(dir, { recursive: true, force: true });
  const names = [...new Set(rows.flatMap((r) => [...r.counts.keys()]))].sort();
  const us = (row, name) => ((row.counts.get(name) ?? 0) / row.total) * row.cpuUs;
  const out = [];
  out.push(`Case ${kase.id} (${values["no-pin"] ? "not pinned" : `placement ${kase.placement}`}), ${values.seconds} s per client, under perf (which slows every client a little).`);
  out.push("");
  out.push(`| µs per message | ${rows.map((r) => r.id).join(" | ")} |`);
  out.push(`|---|${rows.map(() => "---:").join("|")}|`);
  for (const name of names) out.push(`| ${name} | ${rows.map((r) => us(r, name).toFixed(1)).join(" | ")} |`);
  out.push(`| **client CPU per message** | ${rows.map((r) => `**${r.cpuUs.toFixed(1)}**`).join(" | ")} |`);
  out.push(`| msgs/s (under perf) | ${rows.map((r) => Math.round(r.rate).toLocaleString("en-US")).join(" | ")} |`);
  out.push(`| samples | ${rows.map((r) => r.total).join(" | ")} |`);
  console.log(out.join("\n"));
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : String(error));
  process.exit(1);
});
