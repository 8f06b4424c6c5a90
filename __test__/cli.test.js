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
  assert.match(main.stdout, /send\s+send HL7v2 messages and print the ACKs/);
  assert.match(main.stdout, /-v, --version/);
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

// --- several messages, batches, --count, --pool, --version, bad input (issue: the CLI) -------

const A01 = "MSH|^~\\&|A|B|C|D|20260101||ADT^A01|M1|P|2.5\nPID|1\n";
const A08 = "MSH|^~\\&|A|B|C|D|20260101||ADT^A08|M2|P|2.5\nPID|2\n";
const A03 = "MSH|^~\\&|A|B|C|D|20260101||ADT^A03|M3|P|2.5\nPID|3\n";

/** `text` in a temporary file for the duration of `body(file)`. */
async function withFile(text, body) {
  const file = path.join(os.tmpdir(), `mllp-cli-${process.pid}-${Math.random().toString(36).slice(2)}.hl7`);
  fs.writeFileSync(file, text);
  try {
    return await body(file);
  } finally {
    fs.rmSync(file, { force: true });
  }
}

test("mllp --version prints the package version", async () => {
  for (const flag of ["--version", "-v"]) {
    const run = await mllp([flag]);
    assert.equal(run.code, 0);
    assert.equal(run.stdout, `mllp (@glion/mllp-client) ${require("../package.json").version}\n`);
  }
});

test("a file with several messages is sent as several messages, in order (blank lines and a BOM between them dropped)", async () => {
  const rx = await startTestReceiver();
  try {
    await withFile(`\uFEFF${A01}\n${A08}\r\n\r\n${A03}`, async (file) => {
      const run = await mllp(["send", "--port", String(rx.port), "--file", file]);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(run.stdout.trim().split("\n"), ["code=AA controlId=M1", "code=AA controlId=M2", "code=AA controlId=M3"]);
      assert.deepEqual(
        rx.received.map((m) => m.message),
        ["MSH|^~\\&|A|B|C|D|20260101||ADT^A01|M1|P|2.5\rPID|1\r", "MSH|^~\\&|A|B|C|D|20260101||ADT^A08|M2|P|2.5\rPID|2\r", "MSH|^~\\&|A|B|C|D|20260101||ADT^A03|M3|P|2.5\rPID|3\r"],
      );
      assert.match(run.stderr, /mllp: 3 of 3 messages sent in [\d.]+ s .*: 3 accepted, 0 NAK, 0 failed/);
    });
  } finally {
    await rx.close();
  }
});

test("several messages: the first NAK stops the run (exit 1); --keep-going sends the rest and still exits 1", async () => {
  const rx = await startTestReceiver({ reply: (message) => (message.includes("|M2|") ? { code: "AE", text: "Patient not found", errorCode: "204" } : "AA") });
  try {
    await withFile(A01 + A08 + A03, async (file) => {
      const stop = await mllp(["send", "--port", String(rx.port), "--file", file]);
      assert.equal(stop.code, 1, stop.stderr);
      assert.deepEqual(rx.received.map((m) => m.controlId), ["M1", "M2"]);
      assert.match(stop.stderr, /NAK AE \(AckApplicationError\): Patient not found/);
      assert.match(stop.stderr, /2 of 3 messages sent .*: 1 accepted, 1 NAK, 0 failed; 1 not sent \(stopped at the first failure; --keep-going goes on\)/);

      const going = await mllp(["send", "--port", String(rx.port), "--file", file, "--keep-going", "--json"]);
      assert.equal(going.code, 1, going.stderr);
      assert.deepEqual(rx.received.slice(2).map((m) => m.controlId), ["M1", "M2", "M3"]);
      const lines = going.stdout.trim().split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(lines.map((l) => l.code), ["AA", "AE", "AA"]);
    });
  } finally {
    await rx.close();
  }
  // a transport failure stops too, with exit 2
  const closed = await startRawReceiver();
  const port = closed.port;
  await closed.close();
  await withFile(A01 + A08, async (file) => {
    const run = await mllp(["send", "--port", String(port), "--file", file, "--keep-going"]);
    assert.equal(run.code, 2);
    assert.equal(run.stderr.match(/CONNECTION_REFUSED/g).length, 2, run.stderr);
  });
});

test("--batch sends the messages as one batch frame (BHS ... BTS|n); the batch of ACKs is read by its first MSA", async () => {
  const rx = await startTestReceiver();
  try {
    await withFile(A01 + A08, async (file) => {
      const run = await mllp(["send", "--port", String(rx.port), "--file", file, "--batch"]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(rx.received.length, 1, "one frame");
      const segments = rx.received[0].message.split("\r").filter(Boolean);
      assert.match(segments[0], /^BHS\|\^~\\&\|A\|B\|C\|D\|\d{14}\|\|\|\|B[0-9A-Z]+$/);
      assert.deepEqual(segments.slice(1), ["MSH|^~\\&|A|B|C|D|20260101||ADT^A01|M1|P|2.5", "PID|1", "MSH|^~\\&|A|B|C|D|20260101||ADT^A08|M2|P|2.5", "PID|2", "BTS|2"]);
      // the test receiver answers a batch with a batch of ACKs; the CLI prints it whole
      const lines = run.stdout.trim().split("\n");
      assert.match(lines[0], /^BHS\|/);
      assert.deepEqual(lines.filter((l) => l.startsWith("MSA")), ["MSA|AA|M1", "MSA|AA|M2"]);
      assert.equal(lines.at(-2), "BTS|2");
      assert.equal(lines.at(-1), "code=AA controlId=M1");
    });
    // a file that is already a batch goes as it is, one frame
    const batch = `FHS|^~\\&|A\rBHS|^~\\&|A\r${A01.replace(/\n/g, "\r")}BTS|1\rFTS|1\r`;
    await withFile(batch, async (file) => {
      const run = await mllp(["send", "--port", String(rx.port), "--file", file]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(rx.received[1].message, batch);
      assert.deepEqual(rx.received[1].acks[0].split("\r").map((s) => s.slice(0, 3)), ["FHS", "BHS", "MSH", "MSA", "BTS", "FTS"]);
    });
  } finally {
    await rx.close();
  }
});

test("--count N repeats the message with fresh control ids; --pool sends them on one connection", async () => {
  const rx = await startTestReceiver();
  try {
    const pooled = await mllp(["send", "--port", String(rx.port), "--sample", "adt-a01", "--count", "5", "--pool"]);
    assert.equal(pooled.code, 0, pooled.stderr);
    const ids = rx.received.map((m) => m.controlId);
    assert.equal(new Set(ids).size, 5, `fresh control ids: ${ids}`);
    for (const id of ids) assert.ok(id.length <= 20 && id !== "MSG00001", id);
    assert.deepEqual(pooled.stdout.trim().split("\n"), ids.map((id) => `code=AA controlId=${id}`));
    assert.equal(new Set(rx.received.map((m) => m.connection)).size, 1, "one connection with --pool");
    const body = (m) => m.message.split("\r").slice(1).join("\r");
    assert.ok(rx.received.every((m) => body(m) === body(rx.received[0])), "only MSH-10 changes");

    const unpooled = await mllp(["send", "--port", String(rx.port), "--sample", "adt-a01", "--count", "3"]);
    assert.equal(unpooled.code, 0, unpooled.stderr);
    assert.equal(new Set(rx.received.slice(5).map((m) => m.connection)).size, 3, "a connection per message without --pool");
    const bad = await mllp(["send", "--port", String(rx.port), "--sample", "adt-a01", "--count", "0"]);
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /--count must be an integer >= 1/);
  } finally {
    await rx.close();
  }
});

test("bad input is a data error (65), an unreadable file 66: not a transport failure, and nothing is sent", async () => {
  let connections = 0;
  const rx = await startRawReceiver(() => connections++);
  try {
    const cases = [
      [{ input: "" }, /standard input is empty: no HL7v2 message to send/],
      [{ input: "\r\n\r\n" }, /standard input is empty/],
      [{ input: "PID|1||123\rPV1|1" }, /standard input does not start with an MSH segment \(it starts with "PID\|1\|\|123"\): not an HL7v2 message/],
      [{ input: "hello\nMSH|^~\\&|A\n" }, /does not start with an MSH segment/],
      [{ input: "MSH|^~\\&|A|B|C|D|2026||ADT^A01|X\x0bY|P|2.5\r" }, /0x0B/],
    ];
    for (const [{ input }, message] of cases) {
      const run = await mllp(["send", "--port", String(rx.port)], { input });
      assert.equal(run.code, 65, `${JSON.stringify(input)}: ${run.stderr}`);
      assert.match(run.stderr, message);
      assert.doesNotMatch(run.stderr, /transport|CONNECTION/);
    }
    const missing = await mllp(["send", "--port", String(rx.port), "--file", path.join(os.tmpdir(), "no-such-file.hl7")]);
    assert.equal(missing.code, 66);
    assert.match(missing.stderr, /cannot read --file .*no-such-file\.hl7/);
    await sleep(50);
    assert.equal(connections, 0, "no connection was opened");
  } finally {
    await rx.close();
  }
});

test("MALFORMED_FRAME from an HTTP server or a TLS receiver says so: wrong port?", async () => {
  const http = await startRawReceiver((socket) => socket.once("data", () => socket.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")));
  try {
    const run = await mllp(["send", "--port", String(http.port), "--sample", "adt-a01"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^MALFORMED_FRAME: the receiver answered with HTTP \("HTTP\/1\.1 400 Bad Request"\), not MLLP: wrong port\?/m);
  } finally {
    await http.close();
  }
  // a TLS receiver (rustls, as `mllp receive --tls-cert` runs it) answers plain bytes with an
  // alert record; node:tls (OpenSSL) closes without one, which stays CONNECTION_CLOSED
  const tlsRx = await mllpReceive(["--tls-cert", cert("server.pem"), "--tls-key", cert("server-key.pem")]);
  try {
    const run = await mllp(["send", "--port", String(tlsRx.port), "--sample", "adt-a01", "--no-tls", "--ack-timeout", "3000"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^MALFORMED_FRAME: the receiver answered with a TLS record \(0x15 0x03\), not MLLP: it expects TLS/m);
  } finally {
    await tlsRx.stop();
  }
});

test("mllp receive logs what the client really got: CA only when it left before the final ACK", async () => {
  const rx = await mllpReceive(["--enhanced", "--delay", "300"]);
  try {
    const { MllpClient } = require("../index.cjs");
    const client = new MllpClient({ host: "127.0.0.1", port: rx.port, tls: false, ackTimeout: 5000 });
    for await (const ack of client.stream(fs.readFileSync(path.join(ROOT, "samples", "adt-a01.hl7")))) {
      assert.equal(ack.code, "CA");
      break; // leave after the CA: the connection closes
    }
    for (let i = 0; i < 80 && rx.lines.length < 2; i++) await sleep(25);
    assert.match(rx.lines[1], / ADT\^A01\^ADT_A01 MSG00001 \d+B -> CA \(the client left before the AA\)$/);
  } finally {
    await rx.stop();
  }
});
