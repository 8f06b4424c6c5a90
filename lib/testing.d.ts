/** `@glion/mllp-client/testing`: a real MLLP receiver for demos and tests. */
import type { AckCode, AckException } from "@glion/ack";
import type { Pem } from "@glion/mllp-client";

export * from "@glion/mllp-client";

/** What `reply` may return: a code, a code with text and ERR fields, or an exception. */
export type TestReply =
  | AckCode
  | { code: AckCode; text?: string; errorCode?: string; severity?: string }
  | AckException
  | undefined;

export interface TestReceiverOptions {
  /** Default `"127.0.0.1"`. */
  host?: string;
  /** Default 0: a free port (read it from `receiver.port`). */
  port?: number;
  /** Serve TLS with this certificate; `ca` + `requestCert` verify client certificates. */
  tls?: { cert: Pem; key: Pem; ca?: Pem; requestCert?: boolean };
  /** `"original"` (one ACK) or `"enhanced"` (`CA`, then the final ACK). Default original. */
  mode?: "original" | "enhanced";
  /** Chooses the (final) ACK per message; default `AA`. May be async. */
  reply?: (message: string, info: { connection: number; peer: string; index: number }) => TestReply | Promise<TestReply>;
  /** Milliseconds before the (final) ACK. Default 0. */
  delay?: number;
  /**
   * How received bytes are decoded and ACKs encoded: `"auto"` (default: each message's
   * MSH-18, UTF-8 when it names none) or any charset name the client's `encoding` takes.
   */
  encoding?: "auto" | "utf8" | "latin1" | (string & {});
  /** Largest accepted message frame. Default 64 MiB. */
  maxFrameBytes?: number;
  /**
   * Called once per message when its exchange is over: the final ACK was written, or the
   * client had left (`clientLeft`). For logs that say what the client really got.
   */
  onAnswered?: (entry: ReceivedMessage) => void;
}

export interface ReceivedMessage {
  message: string;
  /** The charset the message was decoded with (and its ACKs encoded in). */
  charset: string;
  /** MSH-10 */
  controlId: string | undefined;
  /** MSH-9 */
  messageType: string | undefined;
  connection: number;
  peer: string;
  receivedAt: Date;
  /** The (final) ACK code chosen (by `reply`, or AA). */
  ackCode: AckCode | undefined;
  /** Every ACK text written back for this message, in order (a batch gets a batch of ACKs). */
  acks: string[];
  /** The MSA-1 of each ACK written back, in order: `["CA", "AA"]`, or `["CA"]` when the client left. */
  answered: AckCode[];
  /** True when the client had closed the connection before an ACK could be written. */
  clientLeft: boolean;
  /** True once the exchange is over (final ACK written, or the client had left). */
  done: boolean;
}

export interface TestReceiver {
  readonly host: string;
  readonly port: number;
  readonly mode: "original" | "enhanced";
  /** Every message received, in order. */
  readonly received: ReceivedMessage[];
  /** Resolves once `count` messages were received. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  /** Stop listening and close every connection. */
  close(): Promise<void>;
}

export declare function startTestReceiver(options?: TestReceiverOptions): Promise<TestReceiver>;
