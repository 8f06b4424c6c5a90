"use strict";
// Small helpers shared by the transport tests. Receivers here are plain `node:net` servers:
// nothing from the library under test is used to check it.

const net = require("node:net");
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const START_BLOCK = 0x0b;
const END_BLOCK = 0x1c;
const CARRIAGE_RETURN = 0x0d;

/**
 * A TCP server on 127.0.0.1, port 0. `onConnection(socket)` gets every accepted socket.
 * Resolves with `{ port, close(), connections }`; `connections` lists every accepted socket
 * and `close()` destroys them all, then closes the server.
 */
async function startRawReceiver(onConnection = () => {}) {
  const connections = [];
  const server = net.createServer((socket) => {
    connections.push(socket);
    socket.on("error", () => {}); // resets are part of several tests
    onConnection(socket);
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return {
    port: server.address().port,
    connections,
    close() {
      for (const socket of connections) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A receiver for one test: runs `body(rx)`, then closes the receiver whatever happened. */
async function withReceiver(onConnection, body) {
  const rx = await startRawReceiver(onConnection);
  try {
    return await body(rx);
  } finally {
    await rx.close();
  }
}

/** The client under test, plain TCP to `rx`, with a 5 s ackTimeout unless `options` say otherwise. */
function clientFor(rx, options = {}) {
  const { MllpClient } = require("../index.cjs");
  return new MllpClient({ host: "127.0.0.1", port: rx.port, tls: false, ackTimeout: 5000, ...options });
}

/** 0x0B + text + 0x1C 0x0D (a string is UTF-8 encoded, a Buffer is taken as it is). */
function frame(text) {
  const body = Buffer.isBuffer(text) ? text : Buffer.from(text, "utf8");
  return Buffer.concat([Buffer.from([START_BLOCK]), body, Buffer.from([END_BLOCK, CARRIAGE_RETURN])]);
}

/** MSH-10 of a message (string or bytes). */
function controlIdOf(message) {
  const text = typeof message === "string" ? message : Buffer.from(message).toString("latin1");
  const msh = text.split(/\r\n|\r|\n/)[0];
  return msh.split(msh[3])[9] ?? "";
}

/**
 * A minimal ACK text (segments joined by `\r`, unframed) with MSA-1 = `code` and
 * MSA-2 = the message's MSH-10. `extra` is appended right after MSA-2, e.g.
 * `"|Patient not found\rERR|||204^Unknown key identifier^HL70357|E"`.
 */
function ackFor(message, code = "AA", extra = "") {
  return `MSH|^~\\&|RECEIVER|FACILITY|SENDER|FACILITY|20260510120001||ACK^A01^ACK|ACK00001|P|2.5\rMSA|${code}|${controlIdOf(message)}${extra}`;
}

/**
 * Resolves with every byte received on `socket` up to and including the first complete
 * frame's 0x1C 0x0D (so leading junk would show up in the result).
 */
function collectFrames(socket) {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const onData = (chunk) => {
      received = Buffer.concat([received, chunk]);
      const start = received.indexOf(START_BLOCK);
      if (start === -1) return;
      const end = received.indexOf(Buffer.from([END_BLOCK, CARRIAGE_RETURN]), start);
      if (end === -1) return;
      socket.off("data", onData);
      socket.off("close", onClose);
      resolve(received.subarray(0, end + 2));
    };
    const onClose = () => reject(new Error(`socket closed before a whole frame (${received.length} bytes received)`));
    socket.on("data", onData);
    socket.on("close", onClose);
  });
}

/**
 * Calls `onMessage(text)` for every frame that arrives on `socket` (several per connection,
 * split anywhere), `text` being the frame's content read as latin1.
 */
function onEachMessage(socket, onMessage) {
  let buffered = "";
  socket.on("data", (chunk) => {
    buffered += chunk.toString("latin1");
    let end;
    while ((end = buffered.indexOf("\x1c\r")) !== -1) {
      const message = buffered.slice(buffered.indexOf("\x0b") + 1, end);
      buffered = buffered.slice(end + 2);
      onMessage(message);
    }
  });
}

const REPO = path.join(__dirname, "..");

/**
 * Run `command` with `args` and collect its output. Resolves with { code, signal, stdout,
 * stderr, startedAt, exitedAt, lineAt } (`lineAt[i]`: when stdout line i arrived, parent
 * clock). Past `limitMs` the child is killed and the promise rejects, unless
 * `resolveOnTimeout` (then it resolves with signal SIGKILL). Never rejects on an exit code.
 */
function runProcess(command, args, { cwd = REPO, env = process.env, limitMs = 20000, resolveOnTimeout = false } = {}) {
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const lineAt = [];
    let exitedAt;
    child.stdout.setEncoding("utf8").on("data", (chunk) => {
      for (const ch of chunk) if (ch === "\n") lineAt.push(Date.now());
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      if (!resolveOnTimeout) reject(new Error(`child still running after ${limitMs} ms; stdout: ${stdout}; stderr: ${stderr}`));
    }, limitMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("exit", () => (exitedAt = Date.now()));
    // 'close' comes after 'exit' and after stdout/stderr are fully read.
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, startedAt, exitedAt, lineAt });
    });
  });
}

/** `node -e script args...` in the repository (see `runProcess`). */
function runScript(script, args = [], limitMs = 20000) {
  return runProcess(process.execPath, ["-e", script, ...args], { limitMs });
}

/** A validation function for assert.rejects/throws: an MllpClientError with `code` (and `sent`). */
function transportError(code, sent) {
  const assert = require("node:assert/strict");
  const { MllpClientError } = require("../index.cjs");
  return (error) => {
    assert.ok(error instanceof MllpClientError, `expected MllpClientError ${code}, got ${error?.name}: ${error?.message}`);
    assert.ok(error instanceof Error);
    assert.equal(error.name, "MllpClientError");
    assert.ok(typeof error.message === "string" && error.message.length > 0, "an MllpClientError without a message");
    assert.equal(error.code, code, `wrong code; message: ${error.message}`);
    if (sent !== undefined) assert.equal(error.sent, sent, `wrong sent flag for ${code}`);
    return true;
  };
}

/** `samples/<name>.hl7` as a string. */
function sample(name) {
  return fs.readFileSync(path.join(__dirname, "..", "samples", `${name}.hl7`), "utf8");
}

/** PATH without the folders that hold cargo: a machine with no Rust (install and pack tests). */
function pathWithoutCargo() {
  const hasCargo = (dir) => ["cargo", "cargo.exe"].some((exe) => fs.existsSync(path.join(dir, exe)));
  return (process.env.PATH ?? "").split(path.delimiter).filter((dir) => dir && !hasCargo(dir)).join(path.delimiter);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

module.exports = {
  pathWithoutCargo,
  startRawReceiver, withReceiver, clientFor, frame, ackFor, controlIdOf, collectFrames, onEachMessage, sample, sleep,
  runProcess, runScript, transportError,
};
