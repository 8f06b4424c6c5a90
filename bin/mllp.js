#!/usr/bin/env node
"use strict";
// The `mllp` command: `mllp send` sends HL7v2 messages (one, several from a file, a batch,
// or a repeated one) and prints the ACKs; `mllp receive` runs the test receiver. Exit codes:
// lib/exit-codes.cjs (shared with the example app), README "Exit codes".

const fs = require("node:fs");
const path = require("node:path");
const { parseArgs } = require("node:util");
const { MllpClient, MllpClientError, AckException, startTestReceiver } = require("../lib/testing.cjs");
const { EXIT_CODES: EXIT, exitCodeFor } = require("../lib/exit-codes.cjs");

const SAMPLES = path.join(__dirname, "..", "samples");
const VERSION = require("../package.json").version;

const HELP = {
  main: `Usage: mllp <command> [options]

Commands:
  send      send HL7v2 messages and print the ACKs
  receive   run a test MLLP receiver that ACKs every message
  outbox    stats, dead letters and requeue of an Outbox store

Options:
  -v, --version   print the version
  -h, --help      this help

Run "mllp <command> --help" for its options.`,
  send: `Usage: mllp send [options] [--file F | --sample NAME | < messages.hl7]

Sends the messages of --file, --sample or standard input and prints each ACK. A file may
hold several messages, each starting with an MSH segment: they are sent one by one, in
order, stopping at the first one not accepted (unless --keep-going). A file that starts
with FHS or BHS is a batch and goes as one frame.

Options:
  --host H             receiver host (default 127.0.0.1)
  --port P             receiver port (default 2575)
  --file F             read the messages from F
  --sample NAME        a bundled sample: ${listSamples().join(", ")}
  --keep-going         after a NAK or a failure, go on with the next message
  --batch              send all the messages as one batch frame (BHS ... BTS)
  --count N            send the messages N times, each copy with a fresh control id
                       (MSH-10), one after the other: a smoke load
  --pool               keep the connection open between messages (pool: true)
  --json               print each Ack (or error) as one line of JSON
  --stream             enhanced mode: print every ACK frame as it arrives
  --tls / --no-tls     TLS on or off (default: on, except for a loopback host)
  --ca F               trusted CA certificate(s), PEM (replaces the system store)
  --cert F, --key F    client certificate and key, PEM (mutual TLS)
  --passphrase P       decrypts an encrypted PKCS#8 --key
  --servername N       SNI and the name verified (default: host)
  --insecure           skip server certificate verification (tests only)
  --connect-timeout MS default 10000
  --ack-timeout MS     default 30000
  --encoding E         how the ACK is read (the file's bytes are sent as they are):
                       utf8 (default), latin1, auto (MSH-18), a WHATWG label
                       (windows-1252, shift_jis, ...) or an HL7 name (8859/15, ISO IR87, ...)
  -h, --help           this help

Exit codes: 0 accepted (AA/CA), 1 negative ACK (AE/AR/CE/CR), 2 transport failure
            (MllpClientError), 64 usage error, 65 input is not an HL7v2 message,
            66 --file cannot be read. With --keep-going: the code of the first failure.`,
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
  --encoding E        how messages are read and ACKs written: auto (default: each
                      message's MSH-18, else UTF-8) or any name mllp send takes
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

/** An input that is not an HL7v2 message (empty, no MSH): EX_DATAERR, not a transport failure. */
class DataError extends Error {}
/** An input file that cannot be read: EX_NOINPUT. */
class NoInputError extends Error {}

/** The bytes to send and where they came from (for messages). */
function readInput(values) {
  if (values.file && values.sample) throw new UsageError("give either --file or --sample, not both");
  if (values.file) {
    try {
      return { bytes: fs.readFileSync(values.file), source: values.file };
    } catch (error) {
      throw new NoInputError(`cannot read --file ${values.file}: ${error.message}`);
    }
  }
  if (values.sample) {
    const file = path.join(SAMPLES, `${values.sample}.hl7`);
    if (!/^[\w.-]+$/.test(values.sample) || !fs.existsSync(file)) {
      throw new UsageError(`unknown sample ${JSON.stringify(values.sample)}; samples: ${listSamples().join(", ")}`);
    }
    return { bytes: fs.readFileSync(file), source: `sample ${values.sample}` };
  }
  if (process.stdin.isTTY) throw new UsageError("no message: use --file, --sample, or pipe one on standard input");
  return { bytes: fs.readFileSync(0), source: "standard input" };
}

const SEGMENT_END = /\r\n|\r|\n/;

/**
 * The messages of an input, as byte-exact latin1 strings (turned back into the same bytes
 * for sending). A UTF-8 byte order mark and blank lines around messages are dropped; a file
 * that starts with FHS or BHS is one batch. Anything else before the first MSH, or no MSH at
 * all, is a DataError.
 */
function splitMessages(bytes, source) {
  let text = bytes.toString("latin1");
  if (text.startsWith("\xEF\xBB\xBF")) text = text.slice(3);
  text = text.replace(/^[\r\n]+/, "");
  if (text.trim() === "") throw new DataError(`${source} is empty: no HL7v2 message to send`);
  if (/^(FHS|BHS)/.test(text)) return { messages: [text], batch: true };
  if (!text.startsWith("MSH")) {
    const first = text.split(SEGMENT_END, 1)[0].slice(0, 40);
    throw new DataError(`${source} does not start with an MSH segment (it starts with ${JSON.stringify(first)}): not an HL7v2 message`);
  }
  // A new message starts at every segment that begins with MSH.
  const messages = text.split(/(?<=\r|\n)(?:\r\n|\r|\n)*(?=MSH)/).map((m) => m.replace(/(\r\n|\r|\n)+$/, "$1"));
  return { messages, batch: false };
}

/** MSH-n of a message's first segment (MSH-1 is the separator itself). */
function mshField(message, n) {
  const header = message.split(SEGMENT_END, 1)[0];
  return header.split(header[3])[n - 1] ?? "";
}

/** The message with MSH-10 replaced. */
function withControlId(message, controlId) {
  const end = message.search(SEGMENT_END);
  const header = end === -1 ? message : message.slice(0, end);
  const fields = header.split(header[3]);
  while (fields.length < 10) fields.push("");
  fields[9] = controlId;
  return fields.join(header[3]) + (end === -1 ? "" : message.slice(end));
}

/** HL7 DTM to the second, local time. */
function timestamp(date = new Date()) {
  const p = (n, w = 2) => String(n).padStart(w, "0");
  return `${p(date.getFullYear(), 4)}${p(date.getMonth() + 1)}${p(date.getDate())}${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`;
}

/** `--count N`: the messages N times over, each copy with a fresh MSH-10 (at most 20 characters). */
function repeat(messages, count) {
  if (count === 1) return messages;
  const run = Date.now().toString(36).toUpperCase().slice(-7);
  const out = [];
  for (let i = 1; i <= count; i++) for (const m of messages) out.push(withControlId(m, `${run}-${out.length + 1}`));
  return out;
}

/** `--batch`: BHS (header fields from the first MSH) + the messages + BTS with the count. */
function asBatch(messages) {
  const first = messages[0];
  const sep = first[3];
  const header = ["BHS", mshField(first, 2), mshField(first, 3), mshField(first, 4), mshField(first, 5), mshField(first, 6), timestamp(), "", "", "", `B${Date.now().toString(36).toUpperCase()}`];
  const body = messages.map((m) => m.replace(/(\r\n|\r|\n)+$/, "")).join("\r");
  return `${header.join(sep)}\r${body}\rBTS${sep}${messages.length}\r`;
}

function printAck(ack, json, verbose) {
  if (json) console.log(JSON.stringify(ack));
  else {
    if (verbose) console.log(ack.raw.split(SEGMENT_END).filter(Boolean).join("\n"));
    console.log(`code=${ack.code} controlId=${ack.controlId}`);
  }
}

function printFailure(error, json) {
  if (error instanceof AckException) {
    if (json) console.log(JSON.stringify({ error: error.name, code: error.code, message: error.message, errorCode: error.errorCode, severity: error.severity, controlId: error.controlId, raw: error.raw }));
    else {
      console.error(`NAK ${error.code} (${error.name}): ${error.message}`);
      if (error.errorCode) console.error(`  error code ${error.errorCode}${error.severity ? `, severity ${error.severity}` : ""}`);
      console.error(error.raw.split(SEGMENT_END).filter(Boolean).join("\n"));
    }
  } else if (json) {
    console.log(JSON.stringify({ error: "MllpClientError", code: error.code, message: error.message, sent: error.sent }));
  } else {
    console.error(`${error.code}: ${error.message}${error.sent ? " (the message was sent: the receiver may have it)" : ""}`);
  }
}

async function send(argv) {
  const { values } = parse(argv, {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "2575" },
    file: { type: "string" },
    sample: { type: "string" },
    "keep-going": { type: "boolean" },
    batch: { type: "boolean" },
    count: { type: "string" },
    pool: { type: "boolean" },
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
  const count = integer(values.count, "--count") ?? 1;
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
  const client = new MllpClient({
    host: values.host,
    port: integer(values.port, "--port"),
    tls,
    connectTimeout: integer(values["connect-timeout"], "--connect-timeout"),
    ackTimeout: integer(values["ack-timeout"], "--ack-timeout"),
    encoding: values.encoding,
    pool: values.pool === true,
  });

  const input = readInput(values);
  const split = splitMessages(input.bytes, input.source);
  let messages = split.batch ? split.messages : repeat(split.messages, count);
  if (values.batch && !split.batch) messages = [asBatch(messages)];
  const single = messages.length === 1;

  const tally = { accepted: 0, nak: 0, failed: 0 };
  let exitCode = EXIT.OK;
  const started = Date.now();
  try {
    for (const text of messages) {
      const message = Buffer.from(text, "latin1");
      try {
        if (values.stream) {
          for await (const ack of client.stream(message)) {
            if (values.json) console.log(JSON.stringify(ack));
            else console.log(`${ack.code} controlId=${ack.controlId}${ack.message ? ` ${ack.message}` : ""}`);
          }
        } else {
          printAck(await client.send(message), values.json, single);
        }
        tally.accepted++;
      } catch (error) {
        const code = exitCodeFor(error);
        if (code === undefined) throw error;
        printFailure(error, values.json);
        if (code === EXIT.NAK) tally.nak++;
        else tally.failed++;
        if (exitCode === EXIT.OK) exitCode = code;
        if (!values["keep-going"]) break;
      }
    }
  } finally {
    await client.close();
  }
  if (!single) {
    const done = tally.accepted + tally.nak + tally.failed;
    const seconds = (Date.now() - started) / 1000;
    const rate = seconds > 0 ? ` (${Math.round(done / seconds)}/s)` : "";
    const skipped = messages.length - done;
    console.error(
      `mllp: ${done} of ${messages.length} messages sent in ${seconds.toFixed(2)} s${rate}: ${tally.accepted} accepted, ${tally.nak} NAK, ${tally.failed} failed` +
        (skipped > 0 ? `; ${skipped} not sent (stopped at the first failure; --keep-going goes on)` : ""),
    );
  }
  return exitCode;
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
    encoding: { type: "string", default: "auto" },
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
    encoding: values.encoding,
    reply: () => ({ code, text: values.text, errorCode: values["error-code"] }),
    // One line per message once its exchange is over, with the ACKs the client really got.
    onAnswered: (m) =>
      console.log(
        `${m.receivedAt.toISOString()} ${m.peer} ${m.messageType ?? "?"} ${m.controlId ?? "-"} ${m.message.length}B -> ${m.answered.join(",") || "nothing"}` +
          (m.clientLeft ? ` (the client left before the ${m.ackCode})` : ""),
      ),
  });
  console.log(`mllp receive: listening on ${receiver.host}:${receiver.port}${tls ? " (TLS)" : ""}, ${receiver.mode} mode, answering ${code}; Ctrl-C to stop`);
  await new Promise((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await receiver.close();
  return EXIT.OK;
}

async function main(argv) {
  const [command, ...rest] = argv;
  try {
    if (command === "-v" || command === "--version" || command === "version") {
      console.log(`mllp (@glion/mllp-client) ${VERSION}`);
      return EXIT.OK;
    }
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
    if (error instanceof DataError) {
      console.error(`mllp: ${error.message}`);
      return EXIT.DATA;
    }
    if (error instanceof NoInputError) {
      console.error(`mllp: ${error.message}`);
      return EXIT.NO_INPUT;
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
