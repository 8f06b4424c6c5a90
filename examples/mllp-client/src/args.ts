// Command-line flags shared by send.ts, stream.ts and receive.ts (node:util parseArgs, no
// dependencies). Bad flags print the usage on stderr and exit 64 (EX_USAGE).

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, type ParseArgsConfig } from "node:util";

import { EXIT_CODES } from "@glion/mllp-client/node";

/**
 * Exit codes of send.ts and stream.ts: the library's table, shared with its `mllp` CLI
 * (0 accepted, 1 NAK, 2 transport failure, 64 bad flags, 65 not an HL7v2 message,
 * 66 unreadable --file).
 */
export const EXIT = EXIT_CODES;

export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_PORT = 2575;
export const DEFAULT_SAMPLE = "adt-a01";

const SAMPLES_DIR = fileURLToPath(new URL("../samples/", import.meta.url));

export interface Sample {
  /** File name without `.hl7`, as given to `--sample`. */
  name: string;
  /** MSH-9, e.g. `ADT^A01^ADT_A01`. */
  messageType: string;
  /** MSH-10. */
  controlId: string;
}

/** The bundled samples: every `samples/*.hl7`. */
export function listSamples(): Sample[] {
  let files: string[];
  try {
    files = readdirSync(SAMPLES_DIR).filter((file) => file.endsWith(".hl7")).sort();
  } catch {
    return [];
  }
  return files.map((file) => {
    const header = readFileSync(join(SAMPLES_DIR, file), "latin1").split(/\r\n|\r|\n/, 1)[0] ?? "";
    const fields = header.split(header.charAt(3) || "|");
    return { name: file.slice(0, -".hl7".length), messageType: fields[8] ?? "", controlId: fields[9] ?? "" };
  });
}

function samplesHelp(): string {
  const samples = listSamples();
  if (samples.length === 0) return "  (none found in samples/)";
  const width = Math.max(...samples.map((s) => s.name.length));
  const typeWidth = Math.max(...samples.map((s) => s.messageType.length));
  return samples
    .map((s) => `  ${s.name.padEnd(width)}  ${s.messageType.padEnd(typeWidth)}  controlId=${s.controlId}`)
    .join("\n");
}

function usageError(message: string, usage: string): never {
  console.error(`error: ${message}`);
  console.error(`${usage.split("\n", 1)[0]}  (--help lists the flags${usage.includes("Samples") ? " and samples" : ""})`);
  process.exit(EXIT.USAGE);
}

function parsePort(value: string, usage: string, allowZero = false): number {
  const port = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65535) {
    usageError(`--port must be an integer from ${allowZero ? 0 : 1} to 65535, got ${JSON.stringify(value)}`, usage);
  }
  return port;
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** parseArgs' own errors (unknown flag, missing value...) become a usage error. */
/** Strict flag parsing (plus -h/--help); a bad flag is a usage error. */
function parseFlags<T extends ParseArgsConfig["options"]>(argv: string[], usage: string, options: T) {
  try {
    return parseArgs({ args: argv, strict: true, allowPositionals: false, options: { ...options, help: { type: "boolean", short: "h" } } }).values;
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error), usage);
  }
}

// ---------------------------------------------------------------------------------------------
// send / stream

export interface SendCli {
  host: string;
  port: number;
  tls: boolean;
  /** The message bytes, sent as they are (the client turns LF / CRLF segment ends into CR). */
  message: Buffer;
  /** `sample adt-a01` or `file path/to/message.hl7`, for messages. */
  source: string;
}

function sendUsage(command: "send" | "stream"): string {
  const what =
    command === "send"
      ? "Send one HL7v2 message over MLLP (one connection, one message) and print the receiver's ACK:\nthe raw ACK, then `code=<MSA-1> controlId=<MSA-2>`."
      : "Send one HL7v2 message over MLLP and print every ACK frame as it arrives, as\n`<MSA-1> controlId=<MSA-2>`: an enhanced-mode receiver sends CA (commit accept), then the final ACK.";
  return `Usage: npm run ${command} -- [options]

${what}

Options:
  --sample <name>  bundled sample to send (default: ${DEFAULT_SAMPLE})
  --file <path>    send this file instead: one message, segments ending in CR, LF or CRLF
  --host <host>    receiver host (default: ${DEFAULT_HOST})
  --port <port>    receiver port (default: ${DEFAULT_PORT})
  --tls            use TLS, verifying the receiver against the OS trust store
                   (default: off, for the loopback default; always use it across a network)
  -h, --help       show this help

Samples (samples/):
${samplesHelp()}

Exit codes: ${EXIT.OK} accepted (AA/CA), ${EXIT.NAK} NAK (AE/AR/CE/CR), ${EXIT.TRANSPORT} transport error (MllpClientError),
${EXIT.USAGE} bad flags, ${EXIT.DATA} not an HL7v2 message, ${EXIT.NO_INPUT} unreadable --file.`;
}

export function parseSendArgs(command: "send" | "stream", argv: string[] = process.argv.slice(2)): SendCli {
  const usage = sendUsage(command);
  const values = parseFlags(argv, usage, {
    sample: { type: "string" },
    file: { type: "string" },
    host: { type: "string" },
    port: { type: "string" },
    tls: { type: "boolean" },
  });
  if (values.help) {
    console.log(usage);
    process.exit(EXIT.OK);
  }
  if (values.sample !== undefined && values.file !== undefined) usageError("use either --sample or --file, not both", usage);

  const host = values.host ?? DEFAULT_HOST;
  if (host === "") usageError("--host must not be empty", usage);
  const port = values.port === undefined ? DEFAULT_PORT : parsePort(values.port, usage);
  const tls = values.tls === true;
  if (!tls && !isLoopback(host)) {
    console.error(`warning: sending to ${host} without TLS; pass --tls unless this network is yours (VPN, TLS terminator)`);
  }

  let message: Buffer;
  let source: string;
  if (values.file !== undefined) {
    source = `file ${values.file}`;
    try {
      message = readFileSync(values.file);
    } catch (error) {
      console.error(`error: cannot read --file ${values.file}: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(EXIT.NO_INPUT);
    }
  } else {
    const name = (values.sample ?? DEFAULT_SAMPLE).replace(/\.hl7$/, "");
    const samples = listSamples();
    if (!samples.some((s) => s.name === name)) {
      usageError(`unknown sample ${JSON.stringify(name)}; samples: ${samples.map((s) => s.name).join(", ")}`, usage);
    }
    source = `sample ${name}`;
    message = readFileSync(join(SAMPLES_DIR, `${name}.hl7`));
  }
  return { host, port, tls, message, source };
}

// ---------------------------------------------------------------------------------------------
// receive

export type FinalCode = "AA" | "AE" | "AR" | "CE" | "CR";
const FINAL_CODES: readonly FinalCode[] = ["AA", "AE", "AR", "CE", "CR"];

export interface ReceiveCli {
  host: string;
  port: number;
  enhanced: boolean;
  code: FinalCode;
  delay: number;
}

const receiveUsage = `Usage: npm run receive -- [options]

Start a test MLLP receiver (from @glion/mllp-client/testing) that ACKs every message and
prints one line per message. Runs until Ctrl-C.

Options:
  --host <host>   address to listen on (default: ${DEFAULT_HOST})
  --port <port>   port to listen on (default: ${DEFAULT_PORT}; 0 picks a free one)
  --enhanced      enhanced mode: answer CA (commit accept) first, then the final ACK
  --code <code>   final ACK code: ${FINAL_CODES.join(", ")} (default: AA); a NAK carries an
                  MSA-3 text and an ERR segment (ERR-3 207, ERR-4 E)
  --delay <ms>    wait this long before the final ACK (default: 0)
  -h, --help      show this help`;

export function parseReceiveArgs(argv: string[] = process.argv.slice(2)): ReceiveCli {
  const values = parseFlags(argv, receiveUsage, {
    host: { type: "string" },
    port: { type: "string" },
    enhanced: { type: "boolean" },
    code: { type: "string" },
    delay: { type: "string" },
  });
  if (values.help) {
    console.log(receiveUsage);
    process.exit(EXIT.OK);
  }
  const code = (values.code ?? "AA").toUpperCase();
  if (!FINAL_CODES.includes(code as FinalCode)) {
    usageError(`--code must be one of ${FINAL_CODES.join(", ")}, got ${JSON.stringify(values.code)}`, receiveUsage);
  }
  const delay = values.delay === undefined ? 0 : Number(values.delay);
  if (!Number.isFinite(delay) || delay < 0) usageError(`--delay must be a number of milliseconds >= 0`, receiveUsage);
  return {
    host: values.host ?? DEFAULT_HOST,
    port: values.port === undefined ? DEFAULT_PORT : parsePort(values.port, receiveUsage, true),
    enhanced: values.enhanced === true,
    code: code as FinalCode,
    delay,
  };
}
