#!/usr/bin/env node
"use strict";
// The `mllp` command: `mllp send` sends one HL7v2 message and prints the ACK;
// `mllp receive` runs the test receiver. Exit codes of `send`: 0 accepted, 1 NAK,
// 2 transport failure (MllpClientError), 64 usage error.

const fs = require("node:fs");
const path = require("node:path");
const { parseArgs } = require("node:util");
const { MllpClient, MllpClientError, AckException, startTestReceiver } = require("../testing.js");

const EXIT = { OK: 0, NAK: 1, TRANSPORT: 2, USAGE: 64 };
const SAMPLES = path.join(__dirname, "..", "samples");

const HELP = {
  main: `Usage: mllp <command> [options]

Commands:
  send      send one HL7v2 message and print the ACK
  receive   run a test MLLP receiver that ACKs every message
  outbox    stats, dead letters and requeue of an Outbox store

Run "mllp <command> --help" for its options.`,
  send: `Usage: mllp send [options] [--file F | --sample NAME | < message.hl7]

Sends one message (from --file, --sample, or standard input) and prints the ACK.

Options:
  --host H             receiver host (default 127.0.0.1)
  --port P             receiver port (default 2575)
  --file F             read the message from F
  --sample NAME        a bundled sample: ${listSamples().join(", ")}
  --json               print the Ack (or the error) as JSON
  --stream             enhanced mode: print every ACK frame as it arrives
  --tls / --no-tls     TLS on or off (default: on, except for a loopback host)
  --ca F               trusted CA certificate(s), PEM (replaces the system store)
  --cert F, --key F    client certificate and key, PEM (mutual TLS)
  --passphrase P       decrypts an encrypted PKCS#8 --key
  --servername N       SNI and the name verified (default: host)
  --insecure           skip server certificate verification (tests only)
  --connect-timeout MS default 10000
  --ack-timeout MS     default 30000
  --encoding E         utf8 (default) or latin1
  -h, --help           this help

Exit codes: 0 accepted (AA/CA), 1 negative ACK (AE/AR/CE/CR),
            2 transport failure (MllpClientError), 64 usage error.`,
  receive: `Usage: mllp receive [options]

Runs a test MLLP receiver and prints one line per message received.

Options:
  --host H            listen address (default 127.0.0.1)
  --port P            listen port (default 2575; 0 picks a free one)
  --code C            ACK code to answer: AA (default), AE, AR, CE, CR
  --text T            MSA-3 text for the ACK
  --error-code N      ERR-3 error code for a NAK (HL7 table 0357, e.g. 207)
  --enhanced          enhanced mode: CA first, then the final ACK
  --delay MS          wait before the (final) ACK
  --tls-cert F        serve TLS with this certificate (PEM)
  --tls-key F         and this key (PEM)
  --tls-ca F          verify client certificates against this CA (mutual TLS)
  -h, --help          this help`,
};

function listSamples() {
  try {
    return fs.readdirSync(SAMPLES).filter((f) => f.endsWith(".hl7")).map((f) => f.slice(0, -4)).sort();
  } catch {
    return [];
  }
}

class UsageError extends Error {}

function parse(argv, options) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, allowNegative: true, strict: true });
  } catch (error) {
    throw new UsageError(error.message);
  }
}

function integer(value, name, min = 1) {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

function isLoopback(host) {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function readMessage(values) {
  if (values.file && values.sample) throw new UsageError("give either --file or --sample, not both");
  if (values.file) return fs.readFileSync(values.file);
  if (values.sample) {
    const file = path.join(SAMPLES, `${values.sample}.hl7`);
    if (!/^[\w.-]+$/.test(values.sample) || !fs.existsSync(file)) {
      throw new UsageError(`unknown sample ${JSON.stringify(values.sample)}; samples: ${listSamples().join(", ")}`);
    }
    return fs.readFileSync(file);
  }
  if (process.stdin.isTTY) throw new UsageError("no message: use --file, --sample, or pipe one on standard input");
  return fs.readFileSync(0);
}

function printAck(ack, json) {
  if (json) console.log(JSON.stringify(ack));
  else {
    console.log(ack.raw.split(/\r\n|\r|\n/).filter(Boolean).join("\n"));
    console.log(`code=${ack.code} controlId=${ack.controlId}`);
  }
}

async function send(argv) {
  const { values } = parse(argv, {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "2575" },
    file: { type: "string" },
    sample: { type: "string" },
    json: { type: "boolean" },
    stream: { type: "boolean" },
    tls: { type: "boolean" },
    ca: { type: "string" },
    cert: { type: "string" },
    key: { type: "string" },
    passphrase: { type: "string" },
    servername: { type: "string" },
    insecure: { type: "boolean" },
    "connect-timeout": { type: "string" },
    "ack-timeout": { type: "string" },
    encoding: { type: "string" },
  });
  if (values.help) return console.log(HELP.send), EXIT.OK;
  const material = values.ca || values.cert || values.key || values.passphrase || values.servername || values.insecure;
  const useTls = values.tls ?? (material ? true : !isLoopback(values.host));
  if (!useTls && material) throw new UsageError("TLS options were given with --no-tls");
  const tls = !useTls
    ? false
    : {
        ca: values.ca && fs.readFileSync(values.ca),
        cert: values.cert && fs.readFileSync(values.cert),
        key: values.key && fs.readFileSync(values.key),
        passphrase: values.passphrase,
        servername: values.servername,
        insecure: values.insecure,
      };
  if (tls) for (const k of Object.keys(tls)) if (tls[k] === undefined) delete tls[k];
  const message = readMessage(values);
  const client = new MllpClient({
    host: values.host,
    port: integer(values.port, "--port"),
    tls,
    connectTimeout: integer(values["connect-timeout"], "--connect-timeout"),
    ackTimeout: integer(values["ack-timeout"], "--ack-timeout"),
    encoding: values.encoding,
  });
  try {
    if (values.stream) {
      for await (const ack of client.stream(message)) {
        if (values.json) console.log(JSON.stringify(ack));
        else console.log(`${ack.code} controlId=${ack.controlId}${ack.message ? ` ${ack.message}` : ""}`);
      }
    } else {
      printAck(await client.send(message), values.json);
    }
    return EXIT.OK;
  } catch (error) {
    if (error instanceof AckException) {
      if (values.json) console.log(JSON.stringify({ error: error.name, code: error.code, message: error.message, errorCode: error.errorCode, severity: error.severity, controlId: error.controlId, raw: error.raw }));
      else {
        console.error(`NAK ${error.code} (${error.name}): ${error.message}`);
        if (error.errorCode) console.error(`  error code ${error.errorCode}${error.severity ? `, severity ${error.severity}` : ""}`);
        console.error(error.raw.split(/\r\n|\r|\n/).filter(Boolean).join("\n"));
      }
      return EXIT.NAK;
    }
    if (error instanceof MllpClientError) {
      if (values.json) console.log(JSON.stringify({ error: "MllpClientError", code: error.code, message: error.message, sent: error.sent }));
      else console.error(`${error.code}: ${error.message}${error.sent ? " (the message was sent: the receiver may have it)" : ""}`);
      return EXIT.TRANSPORT;
    }
    throw error;
  }
}

async function receive(argv) {
  const { values } = parse(argv, {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "2575" },
    code: { type: "string", default: "AA" },
    text: { type: "string" },
    "error-code": { type: "string" },
    enhanced: { type: "boolean" },
    delay: { type: "string" },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    "tls-ca": { type: "string" },
  });
  if (values.help) return console.log(HELP.receive), EXIT.OK;
  const code = values.code.toUpperCase();
  if (!["AA", "AE", "AR", "CE", "CR"].includes(code)) throw new UsageError(`--code must be AA, AE, AR, CE or CR, got ${values.code}`);
  if (!values["tls-cert"] !== !values["tls-key"]) throw new UsageError("--tls-cert and --tls-key go together");
  const tls = values["tls-cert"]
    ? {
        cert: fs.readFileSync(values["tls-cert"]),
        key: fs.readFileSync(values["tls-key"]),
        ca: values["tls-ca"] && fs.readFileSync(values["tls-ca"]),
        requestCert: Boolean(values["tls-ca"]),
      }
    : undefined;
  if (tls && !tls.ca) delete tls.ca;
  const receiver = await startTestReceiver({
    host: values.host,
    port: integer(values.port, "--port", 0),
    tls,
    mode: values.enhanced ? "enhanced" : "original",
    delay: integer(values.delay, "--delay", 0) ?? 0,
    reply: () => ({ code, text: values.text, errorCode: values["error-code"] }),
  });
  let seen = 0;
  const timer = setInterval(() => {
    while (seen < receiver.received.length) {
      const m = receiver.received[seen++];
      console.log(`${m.receivedAt.toISOString()} ${m.peer} ${m.messageType ?? "?"} ${m.controlId ?? "-"} ${m.message.length}B -> ${receiver.mode === "enhanced" ? "CA," : ""}${m.ackCode}`);
    }
  }, 50);
  console.log(`mllp receive: listening on ${receiver.host}:${receiver.port}${tls ? " (TLS)" : ""}, ${receiver.mode} mode, answering ${code}; Ctrl-C to stop`);
  await new Promise((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  clearInterval(timer);
  await receiver.close();
  return EXIT.OK;
}

async function main(argv) {
  const [command, ...rest] = argv;
  try {
    if (command === "send") return await send(rest);
    if (command === "receive") return await receive(rest);
    if (command === "outbox") return await require("../lib/outbox-cli.cjs").outboxCommand(rest);
    if (command === undefined || command === "-h" || command === "--help" || command === "help") {
      console.log(HELP.main);
      return command === undefined ? EXIT.USAGE : EXIT.OK;
    }
    throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  } catch (error) {
    if (error instanceof UsageError || (error instanceof MllpClientError && error.code === "INVALID_INPUT")) {
      console.error(`mllp: ${error.message}`);
      console.error(`Run "mllp ${command === "send" || command === "receive" ? `${command} ` : ""}--help" for usage.`);
      return EXIT.USAGE;
    }
    if (error && error.code === "ENOENT") {
      console.error(`mllp: ${error.message}`);
      return EXIT.USAGE;
    }
    throw error;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
