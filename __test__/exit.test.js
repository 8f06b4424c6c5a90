"use strict";
// A Node process that used the client exits by itself: nothing the addon holds (runtime
// threads, sockets, timers) keeps the event loop alive once send() has settled.

const test = require("node:test");
const assert = require("node:assert/strict");

const { startRawReceiver, frame, ackFor, collectFrames, sample, runScript, onEachMessage } = require("./helpers.js");

const ADT = sample("adt-a01");

const SEND_SCRIPT = `
const { MllpClient } = require("./index.cjs");
const fs = require("node:fs");
const [port, ackTimeout] = process.argv.slice(1).map(Number);
const client = new MllpClient({ host: "127.0.0.1", port, tls: false, ackTimeout });
const message = fs.readFileSync("samples/adt-a01.hl7", "utf8");
const started = Date.now();
client.send(message).then(
  (ack) => console.log("ACK " + ack.code + " " + ack.controlId + " " + (Date.now() - started)),
  (error) => console.log("ERROR " + error.code + " " + (Date.now() - started)),
);
`;

test("exit: a script with one finished send exits by itself within ~1 s of finishing", async () => {
  const rx = await startRawReceiver(async (socket) => {
    await collectFrames(socket);
    socket.write(frame(ackFor(ADT)));
  });
  try {
    const run = await runScript(SEND_SCRIPT, [String(rx.port), "5000"], 15000);
    assert.equal(run.stderr, "");
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^ACK AA MSG00001 \d+\n$/);
    assert.equal(run.lineAt.length, 1);
    const lingered = run.exitedAt - run.lineAt[0];
    assert.ok(lingered < 1000, `the process lingered ${lingered} ms after the send finished`);
    assert.equal(rx.connections.length, 1);
  } finally {
    await rx.close();
  }
});

test("exit: a script whose send gets no answer exits right after the ackTimeout with TIMEOUT", async () => {
  const rx = await startRawReceiver(async (socket) => {
    await collectFrames(socket).catch(() => {}); // read the message, never answer
  });
  try {
    const run = await runScript(SEND_SCRIPT, [String(rx.port), "500"], 15000);
    assert.equal(run.stderr, "");
    assert.equal(run.code, 0);
    const match = /^ERROR TIMEOUT (\d+)\n$/.exec(run.stdout);
    assert.ok(match, `unexpected output: ${JSON.stringify(run.stdout)}`);
    const waited = Number(match[1]);
    assert.ok(waited >= 450, `TIMEOUT after only ${waited} ms`);
    const total = run.exitedAt - run.startedAt;
    assert.ok(total < 2500, `the process took ${total} ms in all`);
    const lingered = run.exitedAt - run.lineAt[0];
    assert.ok(lingered < 1000, `the process lingered ${lingered} ms after the TIMEOUT`);
  } finally {
    await rx.close();
  }
});

test("exit: process.exit() with sends pending and pooled connections idle exits with its code, no crash", async () => {
  // Answers every frame with AA, except messages whose MSH-10 starts with SILENT.
  const rx = await startRawReceiver((socket) =>
    onEachMessage(socket, (message) => message.includes("|SILENT") || socket.write(frame(ackFor(message)))));
  const script = `
    const { MllpClient } = require("./index.cjs");
    const port = Number(process.argv[1]);
    const msg = (id) => "MSH|^~\\\\&|S|F|R|F|20260510||ADT^A01|" + id + "|P|2.5";
    const pooled = new MllpClient({ host: "127.0.0.1", port, tls: false, pool: { max: 2 } });
    const single = new MllpClient({ host: "127.0.0.1", port, tls: false });
    (async () => {
      await pooled.send(msg("P1"));
      pooled.send(msg("SILENT1")).catch(() => {});
      single.send(msg("SILENT2")).catch(() => {});
      setTimeout(() => { console.log("exiting"); process.exit(Number(process.argv[2])); }, 100);
    })();
  `;
  try {
    for (const code of [0, 3]) {
      const run = await runScript(script, [String(rx.port), String(code)], 15000);
      assert.equal(run.signal, null, `killed by ${run.signal}; stderr: ${run.stderr}`);
      assert.equal(run.code, code, `exit code ${run.code}; stderr: ${run.stderr}`);
      assert.equal(run.stdout, "exiting\n");
      assert.doesNotMatch(run.stderr, /panicked|Abort|FATAL|Assertion/i);
    }
  } finally {
    await rx.close();
  }
});
