#!/usr/bin/env node
"use strict";
// One client run in its own process (so that its peak RSS is its own). Same flags as
// native/bench-client and python_hl7.py:
//
//   node clients/worker.js --client NAME --port P --message FILE [--host 127.0.0.1]
//        [--mode per-message|persistent] [--concurrency C] [--count N] [--seconds S]
//        [--warmup W] [--enhanced] [--tls-ca CA.pem --servername NAME]
//
// Prints one JSON line: ok, errors, firstError, elapsedS, latenciesUs, peakRssKiB,
// cpuUserS, cpuSysS (CPU of the measured phase only), cpuTotalS (the whole process).

const fs = require("node:fs");
const path = require("node:path");
const { loadTemplate } = require("./_driver.js");

function parseArgs(argv) {
  const o = { host: "127.0.0.1", mode: "per-message", concurrency: 1, count: 1000, seconds: 5, warmup: 0, enhanced: false, tlsCa: null, servername: "localhost" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case "--client": o.client = value(); break;
      case "--host": o.host = value(); break;
      case "--port": o.port = Number(value()); break;
      case "--message": o.message = value(); break;
      case "--mode": o.mode = value(); break;
      case "--concurrency": o.concurrency = Number(value()); break;
      case "--count": o.count = Number(value()); break;
      case "--seconds": o.seconds = Number(value()); break;
      case "--warmup": o.warmup = Number(value()); break;
      case "--enhanced": o.enhanced = true; break;
      case "--tls-ca": o.tlsCa = value(); break;
      case "--servername": o.servername = value(); break;
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  if (!o.client || !o.port || !o.message) throw new Error("--client, --port and --message are required");
  return o;
}

function peakRssKiB() {
  const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) : Math.round(process.resourceUsage().maxRSS);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const adapter = require(path.join(__dirname, `${o.client}.js`));
  const opts = {
    host: o.host,
    port: o.port,
    enhanced: o.enhanced,
    concurrency: o.concurrency,
    tls: o.tlsCa ? { ca: fs.readFileSync(o.tlsCa, "utf8"), servername: o.servername } : null,
  };
  const messages = loadTemplate(o.message, adapter.input);
  const phase = { mode: o.mode, concurrency: o.concurrency, messages };
  if (o.warmup > 0) {
    const w = await adapter.run(opts, { ...phase, count: o.warmup, seconds: Math.min(o.seconds, 2) });
    if (w.ok === 0 && w.errors > 0) throw new Error(`warm-up failed: ${w.firstError}`);
  }
  const cpu0 = process.cpuUsage();
  const r = await adapter.run(opts, { ...phase, count: o.count, seconds: o.seconds });
  const cpu = process.cpuUsage(cpu0);
  const total = process.cpuUsage();
  const out = {
    ok: r.ok,
    errors: r.errors,
    firstError: r.firstError,
    elapsedS: r.elapsedS,
    peakRssKiB: peakRssKiB(),
    cpuUserS: cpu.user / 1e6,
    cpuSysS: cpu.system / 1e6,
    cpuTotalS: (total.user + total.system) / 1e6,
    latenciesUs: r.latencies.map((v) => Math.round(v * 10) / 10),
  };
  // Write and leave: some clients keep timers or sockets that would hold the loop open.
  fs.writeSync(1, JSON.stringify(out) + "\n");
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`worker: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
