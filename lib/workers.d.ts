/**
 * `@glion/mllp-client/workers`: send HL7v2 messages over MLLP from Cloudflare Workers, in pure
 * JavaScript over `cloudflare:sockets`. The same `MllpClient` API, `MllpClientError` class and
 * `@glion/ack` exceptions as every other entry.
 *
 * The Workers runtime verifies the server certificate itself (its own trust store, the host
 * name); it cannot take programmatic TLS material, so `tls` is `true` (the default), `{}` or
 * `false`, and passing `ca`, `cert`, `key`, `passphrase`, `servername` or `insecure` throws
 * `MllpClientError` `INVALID_INPUT` from the constructor. A socket cannot outlive the request
 * that opened it, so there is no connection pool either (`pool` other than `false` throws).
 */
import type { Ack } from "@glion/ack";
import type {
  Hl7Message,
  MllpClientOptions as NodeMllpClientOptions,
  SendOptions,
  TlsOptions as NodeTlsOptions,
} from "@glion/mllp-client";

// Everything of `@glion/ack`, MllpClientError, SendOptions, Hl7Message, Pem,
// MllpClientErrorCode. The names declared below take precedence over these.
export * from "@glion/mllp-client";

/**
 * TLS settings on Workers: none can be given (the runtime cannot honour programmatic TLS
 * material). `{}` is the same as `true`.
 */
export type TlsOptions = { [K in keyof NodeTlsOptions]?: undefined };

export interface MllpClientOptions extends Omit<NodeMllpClientOptions, "tls" | "pool"> {
  /** Default `true`: `secureTransport: "on"`. `false` for plain TCP (`"off"`). */
  tls?: boolean | TlsOptions;
  /**
   * No connection pool on Workers (a socket belongs to the request that opened it): every
   * call opens its own connection. Anything but `false` throws `INVALID_INPUT`.
   */
  pool?: false;
}

export declare class MllpClient {
  /**
   * Validates options (throws `MllpClientError` `INVALID_INPUT`, also for any TLS material)
   * and opens nothing.
   */
  constructor(options: MllpClientOptions);
  /** The validated options, defaults filled in (`tls` as a boolean). */
  readonly options: Readonly<Required<Omit<MllpClientOptions, "tls">> & { tls: boolean }>;
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
  /** Nothing to close on Workers (no pool: every call closes its own connection). */
  close(): Promise<void>;
}

export { Outbox } from "@glion/mllp-client/outbox";
