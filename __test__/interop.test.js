"use strict";
// Interoperability: send() against MLLP receivers nobody here wrote.
//  1. npm `node-hl7-server` (a devDependency at the repo root);
//  2. PyPI `hl7`'s asyncio server (`hl7.mllp.start_hl7_server`), run with python3.
// Each receiver ACKs ADT messages with AA and everything else with a NAK, so both the
// positive path and the NAK mapping are checked against foreign ACK writers.

const test = require("node:test");
const { after } = require("node:test");
const assert = require("node:assert/strict");
const net = require("node:net");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawn } = require("node:child_process");

const { MllpClient, AckApplicationError, AckApplicationReject, AckException } = require("../index.cjs");
const { sample } = require("./helpers.js");

const ADT = sample("adt-a01"); // MSH-10 MSG00001
const ORU = sample("oru-r01"); // MSH-10 MSG00002

function clientFor(port) {
  return new MllpClient({ host: "127.0.0.1", port, tls: false, connectTimeout: 5000, ackTimeout: 5000 });
}

// ---------------------------------------------------------------------------------------
// node-hl7-server
// ---------------------------------------------------------------------------------------

/**
 * node-hl7-server binds every interface (it passes `hostname`, which net ignores, instead
 * of `host`). Force 127.0.0.1 by wrapping net.Server.prototype.listen while the inbound
 * listener is created (it calls listen() synchronously), then restore it.
 */
async function startNodeHl7Server(handler) {
  const { Server } = require("node-hl7-server");
  const originalListen = net.Server.prototype.listen;
  let netServer;
  net.Server.prototype.listen = function listen(options, ...rest) {
    netServer = this;
    if (options !== null && typeof options === "object") {
      const { hostname, ...others } = options;
      return originalListen.call(this, { ...others, host: "127.0.0.1" }, ...rest);
    }
    return originalListen.call(this, options, ...rest);
  };
  let inbound;
  try {
    inbound = new Server().createInbound({ port: 0 }, handler);
  } finally {
    net.Server.prototype.listen = originalListen;
  }
  assert.equal(net.Server.prototype.listen, originalListen, "net.Server.prototype.listen restored");
  await new Promise((resolve, reject) => {
    if (netServer.listening) return resolve();
    inbound.once("listen", resolve);
    netServer.once("error", reject);
  });
  const address = netServer.address();
  assert.equal(address.address, "127.0.0.1");
  return {
    port: address.port,
    async close() {
      const closed = new Promise((resolve) => netServer.once("close", resolve));
      await inbound.close();
      await closed;
    },
  };
}

test("interop: node-hl7-server ACKs adt-a01 with AA / MSG00001, and its AE is an AckApplicationError", async () => {
  const received = [];
  const server = await startNodeHl7Server(async (req, res) => {
    const message = req.getMessage();
    received.push(message.get("MSH.10").toString());
    await res.sendResponse(message.get("MSH.9.1").toString() === "ADT" ? "AA" : "AE");
  });
  try {
    const client = clientFor(server.port);
    const ack = await client.send(ADT);
    assert.equal(ack.code, "AA");
    assert.equal(ack.controlId, "MSG00001");
    assert.equal(ack.message, undefined);
    assert.deepEqual(ack.errors, []);
    // node-hl7-server's own ACK shape: MSH-10 "ACK", MSH-9 ACK^A01^ACK_A01, no trailing CR.
    assert.match(ack.raw, /^MSH\|\^~\\&\|RECEIVER\|FACILITY\|SENDER\|FACILITY\|\d{14}\|\|ACK\^A01\^ACK_A01\|ACK\|P\|2\.5\rMSA\|AA\|MSG00001$/);

    await assert.rejects(client.send(ORU), (error) => {
      assert.ok(error instanceof AckApplicationError, `got ${error?.name}: ${error?.message}`);
      assert.ok(error instanceof AckException);
      assert.equal(error.code, "AE");
      assert.equal(error.controlId, "MSG00002");
      assert.match(error.raw, /\rMSA\|AE\|MSG00002$/);
      return true;
    });
    assert.deepEqual(received, ["MSG00001", "MSG00002"]);
  } finally {
    await server.close();
  }
});

// ---------------------------------------------------------------------------------------
// python3 + PyPI hl7
// ---------------------------------------------------------------------------------------

const PYTHON_SERVER = `
import asyncio
import hl7
from hl7.mllp import start_hl7_server

async def handle(reader, writer):
    try:
        while not writer.is_closing():
            message = await reader.readmessage()
            code = "AA" if str(message.segment("MSH")[9][0][0]) == "ADT" else "AR"
            writer.writemessage(message.create_ack(ack_code=code))
            await writer.drain()
    except asyncio.IncompleteReadError:
        pass
    finally:
        writer.close()

async def main():
    server = await start_hl7_server(handle, host="127.0.0.1", port=0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
`;

// `npm test` (scripts/test.js) provisions a venv with PyPI hl7 and passes its interpreter as
// GLION_PYTHON, or the reason it could not as GLION_PYTHON_MISSING (a machine without
// Python 3); run alone, this file uses python3 from PATH (with `pip install hl7`).
const PYTHON = process.env.GLION_PYTHON || "python3";
const PYTHON_MISSING = process.env.GLION_PYTHON_MISSING;

let python; // { child, dir } while the Python receiver runs

function stopPython() {
  if (!python) return Promise.resolve();
  const { child, dir } = python;
  python = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", resolve);
    process.kill(child.pid, "SIGTERM");
  });
}

after(stopPython);

/** Start the Python receiver; resolves with the port it printed on stdout. */
function startPython() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mllp-interop-"));
  const script = path.join(dir, "hl7_server.py");
  fs.writeFileSync(script, PYTHON_SERVER);
  const child = spawn(PYTHON, ["-u", script], { stdio: ["ignore", "pipe", "pipe"] });
  python = { child, dir };
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => { stderr += chunk; });
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      const line = /^(\d+)\n/.exec(stdout);
      if (line) resolve(Number(line[1]));
    });
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`${PYTHON} exited (${code}) before printing its port: ${stderr}`)));
    setTimeout(() => reject(new Error(`${PYTHON} did not print its port within 10 s: ${stderr}`)), 10000).unref();
  });
}

test("interop: python hl7.mllp server ACKs adt-a01 with AA / MSG00001, and its AR is an AckApplicationReject", { skip: PYTHON_MISSING && `no Python receiver: ${PYTHON_MISSING}` }, async () => {
  try {
    const port = await startPython();
    const client = clientFor(port);
    const ack = await client.send(ADT);
    assert.equal(ack.code, "AA");
    assert.equal(ack.controlId, "MSG00001");
    assert.equal(ack.message, undefined);
    assert.deepEqual(ack.errors, []);
    // hl7's create_ack: MSH-10 a generated id, MSH-9 ACK^A01^ACK, segments ended by \r.
    assert.match(ack.raw, /^MSH\|\^~\\&\|RECEIVER\|FACILITY\|SENDER\|FACILITY\|\d{14}\|\|ACK\^A01\^ACK\|[^|]+\|P\|2\.5\rMSA\|AA\|MSG00001\r?$/);

    await assert.rejects(client.send(ORU), (error) => {
      assert.ok(error instanceof AckApplicationReject, `got ${error?.name}: ${error?.message}`);
      assert.equal(error.code, "AR");
      assert.equal(error.controlId, "MSG00002");
      return true;
    });
  } finally {
    await stopPython();
  }
});
