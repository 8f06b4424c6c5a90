"use strict";
// The `mllp` CLI as a user runs it: `mllp send` (file, sample, stdin, --json, --stream, TLS
// flags, exit codes) and `mllp receive` (one line per message, --enhanced, --code, TLS).

const test = require("node:test");
const assert = require("node:assert/strict");
const { spawn, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { startTestReceiver } = require("../lib/testing.cjs");
const { startRawReceiver, sleep } = require("./helpers.js");

const ROOT = path.join(__dirname, "..");
const MLLP = path.join(ROOT, "bin", "mllp.js");
const CERT_DIR = path.join(__dirname, ".certs");
execFileSync("bash", [path.join(ROOT, "scripts", "make-test-certs.sh"), CERT_DIR], { stdio: "ignore" });
const cert = (name) => path.join(CERT_DIR, name);

/** Run `mllp ...args`; resolves { code, stdout, stderr }. */
function mllp(args, { input, timeout = 15000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MLLP, ...args], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`mllp ${args.join(" ")} did not finish: ${stdout} ${stderr}`));
    }, timeout);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/** Start `mllp receive` and wait for its listening line; returns { port, lines, stop() }. */
async function mllpReceive(args) {
  const child = spawn(process.execPath, [MLLP, "receive", "--port", "0", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  const lines = [];
  let buffered = "";
  child.stdout.on("data", (d) => {
    buffered += d;
    const parts = buffered.split("\n");
    buffered = parts.pop();
    lines.push(...parts);
  });
  for (let i = 0; i < 200 && lines.length === 0; i++) await sleep(25);
  const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(lines[0] ?? "")?.[1]);
  assert.ok(port > 0, `no listening line: ${lines[0]}`);
  return {
    port,
    lines,
    async stop() {
      const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
      child.kill("SIGTERM");
      return exited;
    },
  };
}

test("mllp --help, send --help, receive --help", async () => {
  const main = await mllp(["--help"]);
  assert.equal(main.code, 0);
  assert.match(main.stdout, /send\s+send one HL7v2 message/);
  const send = await mllp(["send", "--help"]);
  assert.equal(send.code, 0);
  assert.match(send.stdout, /--sample NAME .*adt-a01, mdm-t02, orm-o01, oru-r01, siu-s12/);
  assert.match(send.stdout, /Exit codes: 0 accepted/);
  const receive = await mllp(["receive", "--help"]);
  assert.equal(receive.code, 0);
  assert.match(receive.stdout, /--enhanced/);
});

test("mllp send --sample: prints the ACK segments and the parsed line, exit 0", async () => {
  const rx = await startTestReceiver();
  try {
    const run = await mllp(["send", "--port", String(rx.port), "--sample", "adt-a01"]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trim().split("\n");
    assert.match(lines[0], /^MSH\|\^~\\&\|RECEIVER\|FACILITY\|SENDER\|FACILITY\|/);
    assert.equal(lines[1], "MSA|AA|MSG00001");
    assert.equal(lines[2], "code=AA controlId=MSG00001");
    assert.equal(rx.received[0].message, fs.readFileSync(path.join(ROOT, "samples", "adt-a01.hl7"), "utf8"));
  } finally {
    await rx.close();
  }
});

test("mllp send from --file and from standard input, --json", async () => {
  const rx = await startTestReceiver();
  const file = path.join(os.tmpdir(), `mllp-cli-${process.pid}.hl7`);
  fs.writeFileSync(file, "MSH|^~\\&|A|B|C|D|20260101||ADT^A08|FILE1|P|2.5\nPID|1\n");
  try {
    const fromFile = await mllp(["send", "--port", String(rx.port), "--file", file, "--json"]);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    const ack = JSON.parse(fromFile.stdout);
    assert.equal(ack.code, "AA");
    assert.equal(ack.controlId, "FILE1");
    assert.equal(rx.received[0].message, "MSH|^~\\&|A|B|C|D|20260101||ADT^A08|FILE1|P|2.5\rPID|1\r");
    const fromStdin = await mllp(["send", "--port", String(rx.port), "--json"], { input: "MSH|^~\\&|A|B|C|D|20260101||ADT^A08|STDIN1|P|2.5\rPID|1" });
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    assert.equal(JSON.parse(fromStdin.stdout).controlId, "STDIN1");
  } finally {
    fs.rmSync(file, { force: true });
    await rx.close();
  }
});

test("mllp send exit codes: 1 for a NAK, 2 for a transport failure, 64 for usage", async () => {
  const rx = await startTestReceiver({ reply: () => ({ code: "AR", text: "Unsupported", errorCode: "200", severity: "E" }) });
  try {
    const nak = await mllp(["send", "--port", String(rx.port), "--sample", "oru-r01"]);
    assert.equal(nak.code, 1);
    assert.match(nak.stderr, /NAK AR \(UnsupportedMessageTypeReject\): Unsupported/);
    assert.match(nak.stderr, /error code 200, severity E/);
    const json = await mllp(["send", "--port", String(rx.port), "--sample", "oru-r01", "--json"]);
    assert.equal(json.code, 1);
    assert.equal(JSON.parse(json.stdout).errorCode, "200");
  } finally {
    await rx.close();
  }
  const closed = await startRawReceiver();
  const port = closed.port;
  await closed.close();
  const refused = await mllp(["send", "--port", String(port), "--sample", "adt-a01"]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /^CONNECTION_REFUSED: /);
  const usage = await mllp(["send", "--sample", "no-such-sample"]);
  assert.equal(usage.code, 64);
  assert.match(usage.stderr, /unknown sample "no-such-sample"/);
  const badFlag = await mllp(["send", "--bogus"]);
  assert.equal(badFlag.code, 64);
});

test("mllp send --stream against mllp receive --enhanced prints every frame", async () => {
  const rx = await mllpReceive(["--enhanced", "--delay", "50"]);
  try {
    const run = await mllp(["send", "--port", String(rx.port), "--sample", "siu-s12", "--stream"]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.stdout.trim().split("\n"), ["CA controlId=MSG00004", "AA controlId=MSG00004"]);
    for (let i = 0; i < 40 && rx.lines.length < 2; i++) await sleep(25);
    assert.match(rx.lines[1], / SIU\^S12\^SIU_S12 MSG00004 \d+B -> CA,AA$/);
  } finally {
    assert.deepEqual(await rx.stop(), { code: 0, signal: null });
  }
});

test("mllp receive --code AE answers the NAK with ERR fields", async () => {
  const rx = await mllpReceive(["--code", "AE", "--text", "Patient not found", "--error-code", "204"]);
  try {
    const run = await mllp(["send", "--port", String(rx.port), "--sample", "adt-a01", "--json"]);
    assert.equal(run.code, 1);
    const nak = JSON.parse(run.stdout);
    assert.deepEqual([nak.code, nak.message, nak.errorCode], ["AE", "Patient not found", "204"]);
  } finally {
    await rx.stop();
  }
});

test("TLS flags: mllp receive --tls-cert/--tls-key and mllp send --ca/--servername; mutual TLS with --tls-ca/--cert/--key/--passphrase", async () => {
  const rx = await mllpReceive(["--tls-cert", cert("server.pem"), "--tls-key", cert("server-key.pem")]);
  try {
    assert.match(rx.lines[0], /\(TLS\)/);
    const ok = await mllp(["send", "--port", String(rx.port), "--sample", "adt-a01", "--ca", cert("ca.pem"), "--servername", "localhost", "--json"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).code, "AA");
    // TLS on but the CA not trusted: a TLS error, exit 2.
    const untrusted = await mllp(["send", "--port", String(rx.port), "--sample", "adt-a01", "--ca", cert("other-ca.pem"), "--json"]);
    assert.equal(untrusted.code, 2);
    assert.equal(JSON.parse(untrusted.stdout).code, "TLS_ERROR");
    const insecure = await mllp(["send", "--port", String(rx.port), "--sample", "adt-a01", "--insecure", "--json"]);
    assert.equal(insecure.code, 0, insecure.stderr);
    // Loopback defaults to plain TCP: against a TLS receiver that is not a valid exchange.
    const plain = await mllp(["send", "--port", String(rx.port), "--sample", "adt-a01", "--no-tls", "--ack-timeout", "1000", "--json"]);
    assert.equal(plain.code, 2);
  } finally {
    await rx.stop();
  }
  const mtls = await mllpReceive(["--tls-cert", cert("server.pem"), "--tls-key", cert("server-key.pem"), "--tls-ca", cert("ca.pem")]);
  try {
    const withCert = await mllp(["send", "--port", String(mtls.port), "--sample", "adt-a01", "--ca", cert("ca.pem"), "--cert", cert("client.pem"), "--key", cert("client-key-enc.pem"), "--passphrase", "s3cret", "--json"]);
    assert.equal(withCert.code, 0, withCert.stderr);
    const without = await mllp(["send", "--port", String(mtls.port), "--sample", "adt-a01", "--ca", cert("ca.pem"), "--json"]);
    assert.equal(without.code, 2);
    assert.equal(JSON.parse(without.stdout).code, "TLS_ERROR");
    const wrongPass = await mllp(["send", "--port", String(mtls.port), "--sample", "adt-a01", "--ca", cert("ca.pem"), "--cert", cert("client.pem"), "--key", cert("client-key-enc.pem"), "--passphrase", "nope"]);
    assert.equal(wrongPass.code, 64);
    assert.match(wrongPass.stderr, /passphrase/);
  } finally {
    await mtls.stop();
  }
});

test("--encoding: mllp receive reads each message by its MSH-18 and answers in its charset; mllp send reads the ACK with the same names", async () => {
  const rx = await mllpReceive(["--code", "AE", "--text", "Müller unbekannt"]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mllp-charset-"));
  try {
    const file = path.join(dir, "latin1.hl7");
    // ISO-8859-1 bytes: Ü is 0xDC.
    fs.writeFileSync(file, Buffer.from("MSH|^~\\&|A|B|C|D|20260101||ADT^A01|CS1|P|2.5||||||8859/1\rPID|1||7||M\xdcLLER\r", "latin1"));
    for (const encoding of ["auto", "8859/1", "latin1"]) {
      const run = await mllp(["send", "--port", String(rx.port), "--file", file, "--encoding", encoding, "--json"]);
      assert.equal(run.code, 1, run.stderr);
      assert.equal(JSON.parse(run.stdout).message, "Müller unbekannt", encoding);
    }
    const utf8 = await mllp(["send", "--port", String(rx.port), "--file", file, "--encoding", "utf8", "--json"]);
    assert.equal(JSON.parse(utf8.stdout).message, "M\ufffdller unbekannt", "read as UTF-8 the 0xFC is not a character");
    for (const args of [["send", "--port", "1", "--file", file, "--encoding", "klingon"], ["receive", "--port", "0", "--encoding", "klingon"]]) {
      const bad = await mllp(args);
      assert.equal(bad.code, 64, args.join(" "));
      assert.match(bad.stderr, /unknown character set "klingon"/);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await rx.stop();
  }
});
