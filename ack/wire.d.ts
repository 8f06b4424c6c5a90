/**
 * `@glion/ack/wire`: MLLP framing and outgoing-message checks in plain JavaScript
 * (web-platform APIs only: runs in Node.js, Bun, Deno and Cloudflare Workers).
 */

/**
 * A character set name: "utf8", "latin1" (true ISO-8859-1, not windows-1252), any WHATWG
 * label, an HL7 table 0211 name ("8859/15", "ISO IR87", ...); where a message is involved,
 * also "auto" (MSH-18 decides). See the README, "Character sets".
 */
export type WireEncoding = "utf8" | "latin1" | "auto" | (string & {});

/** An `Error` carrying a machine-readable `code`. */
export interface WireError extends Error {
  code: "MALFORMED_FRAME" | "CONNECTION_CLOSED" | "INVALID_INPUT";
}

/** Thrown by `FrameDecoder.push`: bytes that are not MLLP framing, or a frame over the limit. */
export interface MalformedFrameError extends Error {
  code: "MALFORMED_FRAME";
  /** Frames completed by the same `push` call before the bad byte (often `[]`). */
  frames: Uint8Array[];
}

/** Default `maxFrameBytes`: 1 MiB. */
export declare const DEFAULT_MAX_FRAME_BYTES: number;
/** `0x0B`, the MLLP start block. */
export declare const START_BLOCK: 0x0b;
/** `0x1C`, the MLLP end block. */
export declare const END_BLOCK: 0x1c;
/** `0x0D`, the byte after the end block. */
export declare const CARRIAGE_RETURN: 0x0d;

/**
 * Resumable MLLP frame decoder (`0x0B` content `0x1C 0x0D`). Outside a frame NUL, CR, LF,
 * space and tab are skipped; every other rule is in docs/ARCHITECTURE.md.
 */
export declare class FrameDecoder {
  /** @param options.maxFrameBytes largest content (bytes between 0x0B and 0x1C); default 1 MiB. */
  constructor(options?: { maxFrameBytes?: number });
  readonly maxFrameBytes: number;
  /** True when no partial frame is held. */
  readonly idle: boolean;
  /**
   * Consume a chunk; returns the frames it completed (content only, fresh copies).
   * Throws a `MalformedFrameError`; frames completed earlier in this chunk are in
   * `error.frames`. After an error every call throws again.
   */
  push(chunk: Uint8Array): Uint8Array[];
  /**
   * End of stream: the frame whose final 0x0D was missing, or `null` on a clean end.
   * Throws a `WireError` with `code === "CONNECTION_CLOSED"` inside a frame.
   */
  end(): Uint8Array | null;
}

/** `0x0B` + bytes + `0x1C 0x0D`, in one new array. */
export declare function encodeFrame(bytes: Uint8Array): Uint8Array;

/**
 * Check an outgoing message and give its wire bytes and control id: non-empty, starts with
 * `MSH`/`FHS`/`BHS` and a field separator, no 0x0B/0x1C, `\r\n` and `\n` become `\r`.
 * `controlId` is MSH-10 (`""` when absent), `null` for FHS/BHS. Throws a `WireError` with
 * `code === "INVALID_INPUT"` naming the failed rule. A Uint8Array input is returned as is
 * (same object) when nothing needs converting.
 */
export declare function prepareMessage(
  message: string | Uint8Array,
  encoding?: WireEncoding,
): { bytes: Uint8Array; controlId: string | null; charset: string };

/**
 * Encode a string; a character the charset cannot encode (or a multi-byte legacy charset,
 * which only the native client encodes) throws a `WireError` with `code === "INVALID_INPUT"`.
 */
export declare function encodeText(text: string, encoding?: WireEncoding): Uint8Array;

/** Decode bytes (undecodable bytes become U+FFFD); "auto" reads their own MSH-18. */
export declare function decodeText(bytes: Uint8Array, encoding?: WireEncoding): string;

/** The canonical charset an `encoding` option names, or "auto"; INVALID_INPUT when unknown. */
export declare function resolveEncoding(encoding: string): string;
/** The canonical charset a name means; INVALID_INPUT when unknown or refused. */
export declare function resolveCharset(name: string): string;
/** Whether this package can encode the (canonical) charset here. */
export declare function canEncode(charset: string): boolean;
/** Whether this runtime can decode the (canonical) charset. */
export declare function canDecode(charset: string): boolean;
/** The charset an ACK is decoded with: its own MSH-18 under "auto", else `fallback`. */
export declare function ackCharset(bytes: Uint8Array, encoding: string, fallback: string): string;
/** ASCII text is the same bytes in this (canonical) charset: every one but UTF-16. */
export declare function isAsciiCompatible(charset: string): boolean;
/** Bytes as text in a canonical charset. */
export declare function decodeBytes(bytes: Uint8Array, charset: string): string;

/** Any Uint8Array (a Buffer included), whatever realm (node:vm, another worker) made it. */
export declare function isUint8Array(value: unknown): value is Uint8Array;

/** True when the view's buffer was detached (transferred): its bytes are gone. */
export declare function isDetached(view: Uint8Array): boolean;
