/**
 * `@glion/mllp-client/outbox`: durable, ordered, at-least-once delivery over an
 * `MllpClient`, on SQLite (embedded, one machine) or PostgreSQL (several processes).
 * On Cloudflare Workers `Outbox.open` throws `MllpClientError` `INVALID_INPUT`.
 */
import type { MllpClient, Hl7Message, MllpClientErrorCode } from "@glion/mllp-client";

export { MllpClientError } from "@glion/mllp-client";

export interface OutboxRetryOptions {
  /** Milliseconds before the first retry of a failed head (backoff ceiling doubles per attempt). Default 1000. */
  initialDelay?: number;
  /** Largest backoff ceiling in milliseconds. Default 60000. */
  maxDelay?: number;
  /** Attempts before a message is dead (integer >= 1 or Infinity). Default Infinity. */
  maxAttempts?: number;
}

export type NakAction = "retry" | "dead";

export interface OutboxOptions {
  /** Where messages go. */
  client: MllpClient;
  /**
   * `"sqlite:<path>"` (optionally `?synchronous=full`) or `"postgres://user:pw@host:5432/db"`
   * (optionally `?lease=<ms>`, 1..10000, default 5000).
   */
  store: string;
  /** Default `"default"`; several queues may share a store. */
  queue?: string;
  retry?: OutboxRetryOptions;
  /** What a NAK does. Default `{ AE: "retry", AR: "dead", CE: "retry", CR: "dead" }`. */
  onNak?: { AE?: NakAction; AR?: NakAction; CE?: NakAction; CR?: NakAction };
}

export interface OutboxStats {
  /** Stored, not yet delivered or dead, not in flight. */
  pending: number;
  /** 1 while this process is sending the queue's head, else 0. */
  inFlight: number;
  delivered: number;
  dead: number;
}

/** One delivery attempt, as stored with the message. */
export interface OutboxAttempt {
  at: Date;
  /** The ACK code (`AA`, `AE`, ...), an `MllpClientError` code, `"CLOSED"` (aborted by `close()`) or `"ERROR"`. */
  code: "AA" | "CA" | "AE" | "AR" | "CE" | "CR" | MllpClientErrorCode | "CLOSED" | "ERROR";
  /** For transport failures: whether every byte was written; `true` for an ACK; `null` when unknown. */
  sent: boolean | null;
  /** The error text, or `null` for an accepted attempt. */
  error: string | null;
}

export interface DeadLetter {
  id: number;
  /** MSH-10 of the message (null when it has none). */
  controlId: string | null;
  /** The last attempt's code. */
  code: string;
  /** The last attempt's error text. */
  reason: string;
  /** Every attempt, oldest first. */
  attempts: OutboxAttempt[];
}

export declare class Outbox {
  private constructor();
  /** Opens the store (creating its schema if needed) and starts delivering in the background. */
  static open(options: OutboxOptions): Promise<Outbox>;
  /** Resolves once the message is stored durably. Bad input rejects with `INVALID_INPUT`. */
  enqueue(message: Hl7Message): Promise<{ id: number }>;
  /** Resolves when nothing of this queue is pending or in flight; rejects if the outbox is closed first. */
  drain(): Promise<void>;
  /** Counts for this queue, from memory, kept in step with the store. */
  stats(): OutboxStats;
  /** Dead letters of this queue, oldest first. */
  dead(): Promise<DeadLetter[]>;
  /** A dead letter back to the end of the queue, with a fresh attempt budget. */
  requeue(id: number): Promise<void>;
  /** Stops delivering (an attempt in flight is aborted and stays pending), closes the store. */
  close(): Promise<void>;
}
