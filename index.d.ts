/**
 * `@glion/mllp-client` (also `@glion/mllp-client/node`): send HL7v2 messages over MLLP from
 * Node.js and Bun. Every entry (`/node`, `/deno`, `/workers`, `/testing`) exports the same
 * `MllpClient` API, the same `MllpClientError` class, and everything from `@glion/ack`.
 */
import type { Ack } from "@glion/ack";

export * from "@glion/ack";

/** PEM text or bytes. */
export type Pem = string | Uint8Array;

/** TLS settings. With `tls: true` (the default) the operating system's trust store is used. */
export interface TlsOptions {
  /** Trusted CA certificate(s), PEM; when given, the ONLY trusted roots. */
  ca?: Pem | Pem[];
  /** Client certificate chain (PEM), for mutual TLS. Needs `key`. */
  cert?: Pem;
  /** Client private key (PEM): PKCS#8 (optionally encrypted), PKCS#1 (RSA) or SEC1 (EC). */
  key?: Pem;
  /** Decrypts an encrypted PKCS#8 `key`. */
  passphrase?: string;
  /** Sent as SNI (unless an IP address) and the name verified; default: `host`. */
  servername?: string;
  /** Tests only: skip server certificate verification. Never in production. */
  insecure?: boolean;
}

export interface MllpClientOptions {
  host: string;
  /** 1..65535 */
  port: number;
  /** Default `true`. `false` for plain TCP (loopback, VPN, TLS terminator). */
  tls?: boolean | TlsOptions;
  /** Milliseconds for TCP connect + TLS handshake. Default 10000. */
  connectTimeout?: number;
  /** Milliseconds to wait for each ACK frame (from the start of the write). Default 30000. */
  ackTimeout?: number;
  /**
   * String <-> bytes on the wire (README "Character sets"). Default `"utf8"`. `"latin1"`
   * is true ISO-8859-1; also any WHATWG label (`"windows-1252"`, `"iso-8859-2"`,
   * `"shift_jis"`, `"gb18030"`, `"big5"`, `"euc-kr"`, `"utf-16le"`, ...), an HL7 table 0211
   * name (`"8859/1"`, `"8859/15"`, `"ISO IR87"`, `"GB 18030-2000"`, `"UNICODE UTF-8"`, ...),
   * or `"auto"`: a string message in the charset its MSH-18 names (none: UTF-8), an ACK
   * read with its own MSH-18, else the message's charset. Unknown: INVALID_INPUT.
   */
  encoding?: "utf8" | "latin1" | "auto" | (string & {});
  /** Largest ACK frame accepted, in bytes between 0x0B and 0x1C. Default 1 MiB. */
  maxFrameBytes?: number;
  /** Default `true`: MSA-2 must equal the sent MSH-10 (not checked for FHS/BHS batches). */
  verifyControlId?: boolean;
  /**
   * Opt-in connection pool for `send()` (beyond the spec). Default `false`: one connection
   * per send. `true` means `{ max: 8, idleTimeout: 30000 }`.
   */
  pool?: boolean | PoolOptions;
}

export interface PoolOptions {
  /** Most connections open at once (one message in flight on each). Default 8. */
  max?: number;
  /** Milliseconds an idle connection is kept. Default 30000. */
  idleTimeout?: number;
}

export interface SendOptions {
  /** Aborting closes the connection at once and rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Overrides the client's `ackTimeout` for this call. */
  ackTimeout?: number;
}

/** A message: text (encoded with `encoding`) or bytes sent as they are. */
export type Hl7Message = string | Uint8Array;

export type MllpClientErrorCode =
  | "INVALID_INPUT"
  | "CONNECTION_REFUSED"
  | "TIMEOUT"
  | "CONNECTION_CLOSED"
  | "MALFORMED_FRAME"
  | "MALFORMED_ACK"
  | "TLS_ERROR";

/** A transport-level failure (anything that is not a NAK from the receiver). */
export declare class MllpClientError extends Error {
  constructor(message: string, fields: { code: MllpClientErrorCode; sent?: boolean; cause?: unknown });
  readonly name: "MllpClientError";
  readonly code: MllpClientErrorCode;
  /**
   * True once every byte of the message was written: the receiver may have it, so the
   * caller decides about resending. False means it certainly was not delivered.
   */
  readonly sent: boolean;
}

export declare class MllpClient {
  /** Validates options (throws `MllpClientError` `INVALID_INPUT`) and opens nothing. */
  constructor(options: MllpClientOptions);
  /** The validated options, defaults filled in (`tls` as a boolean). */
  readonly options: Readonly<Required<Omit<MllpClientOptions, "tls" | "pool">> & { tls: boolean; pool: false | Required<PoolOptions> }>;
  /**
   * Open a connection, send one message, await one ACK frame, close. Resolves with an
   * `AA`/`CA` Ack; rejects with an `AckException` subclass for `AE`/`AR`/`CE`/`CR`, or an
   * `MllpClientError`. Never throws synchronously.
   */
  send(message: Hl7Message, options?: SendOptions): Promise<Ack>;
  /**
   * Enhanced mode: yields each ACK frame of one connection (`CA`, then the final ACK) and
   * completes after `AA`; throws the `AckException` for a final NAK. Leaving the loop early
   * closes the connection. A bad message rejects the first `next()`.
   */
  stream(message: Hl7Message, options?: SendOptions): AsyncIterableIterator<Ack>;
  /**
   * Close pooled connections; later sends reject with `INVALID_INPUT`. Sends in flight
   * finish first. Without `pool` there is nothing to close.
   */
  close(): Promise<void>;
}

/**
 * Exit codes shared by the `mllp send` CLI and the example app (README "Exit codes"):
 * 0 accepted, 1 NAK, 2 transport failure, 64 usage, 65 not an HL7v2 message, 66 unreadable file.
 */
export declare const EXIT_CODES: Readonly<{ OK: 0; NAK: 1; TRANSPORT: 2; USAGE: 64; DATA: 65; NO_INPUT: 66 }>;

/**
 * The exit code a failed send stands for: `NAK` for an `AckException`, `DATA` for an
 * `INVALID_INPUT` message, `TRANSPORT` for any other `MllpClientError`; `undefined` otherwise.
 */
export declare function exitCodeFor(error: unknown): 1 | 2 | 65 | undefined;
