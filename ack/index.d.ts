/**
 * `@glion/ack`: the HL7v2 ACK exception hierarchy, `parseAck`, `buildAck` and HL7 escaping.
 *
 * Every class is defined once (CommonJS); the ESM entry re-exports it, so `instanceof`
 * works whichever way the package is loaded.
 */

/** An MSA-1 acknowledgment code. */
export type AckCode = "AA" | "AE" | "AR" | "CA" | "CE" | "CR";

/** A negative acknowledgment code (the ones that become exceptions). */
export type NakCode = "AE" | "AR" | "CE" | "CR";

/** The six MSA-1 codes, in this order: `["AA", "AE", "AR", "CA", "CE", "CR"]`. */
export declare const ACK_CODES: readonly ["AA", "AE", "AR", "CA", "CE", "CR"];

/** HL7 delimiters: MSH-1 (field) and the four MSH-2 characters. */
export interface Hl7Delimiters {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  subcomponent: string;
}

/** The standard delimiters `| ^ ~ \ &`. */
export declare const DEFAULT_DELIMITERS: Readonly<Hl7Delimiters>;

/** One ERR segment. Every field is `undefined` when empty. */
export interface AckErrorEntry {
  /** ERR-3.1 (v2.5+), or ERR-1.4.1 (v2.3-2.4 ELD): an HL7 table 0357 code such as `"204"`. Unescaped. */
  errorCode: string | undefined;
  /** ERR-3.2 (v2.5+) or ERR-1.4.2 (ELD); when that is empty, ERR-8. Unescaped. */
  errorText: string | undefined;
  /** ERR-4.1: `"E"` error, `"W"` warning, `"I"` information (HL7 table 0516). */
  severity: string | undefined;
  /** ERR-2 as it stands when filled, else ERR-1.1..1.3 joined by the component separator (ELD). */
  location: string | undefined;
}

/** A parsed ACK message. */
export interface Ack {
  /** MSA-1, trimmed. */
  code: AckCode;
  /** MSA-2, trimmed; `""` when absent. */
  controlId: string;
  /** MSA-3 unescaped; `undefined` when empty. */
  message: string | undefined;
  /** `errors[0].errorCode`, `undefined` without ERR segment. */
  errorCode: string | undefined;
  /** `errors[0].severity`, `undefined` without ERR segment. */
  severity: string | undefined;
  /** Every ERR segment in order (`[]` when none). */
  errors: AckErrorEntry[];
  /** The ACK text as received (frame content, decoded). */
  raw: string;
}

/** Fields accepted by the exception constructors. */
export interface AckExceptionFields {
  /** MSA-1. Only used by `AckException` itself: subclasses fix their code. */
  code?: AckCode;
  /** HL7 table 0357 error code (ERR-3.1 / ERR-1.4.1). */
  errorCode?: string;
  /** ERR-4 severity (`"E"`, `"W"`, `"I"`). */
  severity?: string;
  /** The wire ACK text. */
  raw?: string;
  /** MSA-2: the control id of the message this ACK answers. */
  controlId?: string;
  /** The parsed Ack this exception was made from. */
  ack?: Ack;
  /** The ERR entries. */
  errors?: AckErrorEntry[];
  /** Standard `Error` cause. */
  cause?: unknown;
}

/**
 * Base class of every ACK exception (a negative acknowledgment from the receiver).
 * Constructed directly it takes its code from `fields.code`; subclasses fix it.
 * `message` is MSA-3, or a default text such as `"Application error (AE)"`.
 */
export declare class AckException extends Error {
  constructor(message?: string, fields?: AckExceptionFields);
  /** The MSA-1 code this class stands for (`undefined` on the base class). */
  static readonly code: AckCode | undefined;
  /** The error code a convenience subclass fills in when none is given. */
  static readonly defaultErrorCode: string | undefined;
  /** The class name, e.g. `"AckApplicationError"`. */
  name: string;
  /** MSA-1. */
  code: AckCode | undefined;
  /** HL7 table 0357 error code from the first ERR segment. */
  errorCode: string | undefined;
  /** ERR-4 severity from the first ERR segment. */
  severity: string | undefined;
  /** The wire ACK text, for logging or persistence. */
  raw: string | undefined;
  /** MSA-2. */
  controlId: string | undefined;
  /** The parsed Ack, when the exception came from one. */
  ack: Ack | undefined;
  /** Every ERR entry (`[]` when none). */
  errors: AckErrorEntry[];
}

/** MSA-1 `AE`: application error, the receiver could not process the message. */
export declare class AckApplicationError extends AckException {
  static readonly code: "AE";
  code: "AE";
}

/** MSA-1 `AR`: application reject (unsupported type, version, processing id...). */
export declare class AckApplicationReject extends AckException {
  static readonly code: "AR";
  code: "AR";
}

/** MSA-1 `CE`: commit error (enhanced mode). */
export declare class AckCommitError extends AckException {
  static readonly code: "CE";
  code: "CE";
}

/** MSA-1 `CR`: commit reject (enhanced mode). */
export declare class AckCommitReject extends AckException {
  static readonly code: "CR";
  code: "CR";
}

/** `AR` with HL7 table 0357 code `200` (unsupported message type); `errorCode` defaults to `"200"`. */
export declare class UnsupportedMessageTypeReject extends AckApplicationReject {
  static readonly defaultErrorCode: "200";
  errorCode: string;
}

/** `AE` with HL7 table 0357 code `207` (application internal error); `errorCode` defaults to `"207"`. */
export declare class ApplicationInternalError extends AckApplicationError {
  static readonly defaultErrorCode: "207";
  errorCode: string;
}

/** `CE` with HL7 table 0357 code `207` (internal error while committing); `errorCode` defaults to `"207"`. */
export declare class CommitInternalError extends AckCommitError {
  static readonly defaultErrorCode: "207";
  errorCode: string;
}

/** Thrown by `parseAck` for text that is not a parsable ACK; the message says which rule failed. */
export declare class AckParseError extends Error {
  constructor(message: string);
  name: "AckParseError";
  code: "MALFORMED_ACK";
}

/**
 * The most specific exception for a negative Ack: AR+200 → `UnsupportedMessageTypeReject`,
 * AE+207 → `ApplicationInternalError`, CE+207 → `CommitInternalError`, else by MSA-1.
 * Returns `null` for `AA` and `CA`. Throws `TypeError` for anything that is not an Ack.
 */
export declare function exceptionFromAck(ack: Ack & { code: "AA" | "CA" }): null;
export declare function exceptionFromAck(ack: Ack): AckException | null;

/**
 * Parse an ACK message (MLLP frame content, decoded) with its own delimiters. Segments may
 * be separated by `\r`, `\r\n` or `\n`. A batch of ACKs (`[FHS] BHS { MSH MSA [ERR] } BTS
 * [FTS]`) is read by its first MSA. Throws `AckParseError` when there is no MSH (or FHS/BHS)
 * first, no MSA, or MSA-1 is not one of the six codes; `TypeError` when `raw` is neither a
 * string nor a Uint8Array. Bytes are decoded with `options.encoding`: "utf8" (default),
 * "latin1" (true ISO-8859-1), any WHATWG label, an HL7 table 0211 name, or "auto" (the ACK's
 * own MSH-18, else UTF-8); an unknown name throws an Error with `code === "INVALID_INPUT"`.
 */
export declare function parseAck(raw: string | Uint8Array, options?: { encoding?: string }): Ack;

/** Options of `buildAck`. */
export interface BuildAckOptions {
  /** MSA-3 (escaped). Default: the exception's message, none for a plain code. */
  text?: string;
  /** MSH-10 of the ACK. Default: a new unique id (`ACK...`, 20 chars). */
  controlId?: string;
  /** MSH-7: a Date (formatted `YYYYMMDDHHMMSS`, local time) or a preformatted string. Default: now. */
  timestamp?: Date | string;
  /** Error code for the ERR segment of a NAK. Default: the exception's `errorCode`. */
  errorCode?: string;
  /** ERR text. Default: `text`, else the exception's message, else the table 0357 description. */
  errorText?: string;
  /** ERR-4 severity (v2.5+). Default: the exception's severity, else `"E"`. */
  severity?: string;
  /** ERR-2 (v2.5+) or ERR-1.1..1.3 (earlier), written with the original's component separator. */
  location?: string;
  /** How to decode an original given as bytes. Default `"utf8"`. */
  encoding?: "utf8" | "latin1";
}

/**
 * Build the ACK text (segments joined by `\r`, no trailing `\r`, no MLLP framing) that a
 * receiver returns for `original`, with the original's delimiters, sender and receiver
 * swapped, `MSH-9 = ACK^<trigger>^ACK`, `MSA-2 = original MSH-10`, and for every NAK an ERR
 * segment (v2.5+ `ERR||loc|code^text^HL70357|sev`, earlier `ERR|^^^code&text&HL70357|||sev`)
 * whose code is the given one, else HL7 table 0357 `207` for AE/CE and `200` for AR/CR. Throws `TypeError` when `original` does not start with MSH
 * or the code is not one of the six.
 */
export declare function buildAck(
  original: string | Uint8Array,
  codeOrException: AckCode | AckException,
  options?: BuildAckOptions,
): string;

/**
 * Decode HL7 escapes: `\F\ \S\ \T\ \R\ \E\` (with `delimiters.escape`) and `\Xhh..\` (UTF-8
 * when valid, else Latin-1). Other and unterminated escapes are kept verbatim.
 * Missing delimiters default to `| ^ ~ \ &`.
 */
export declare function unescapeHl7(text: string, delimiters?: Partial<Hl7Delimiters>): string;

/**
 * Escape text for an HL7 field: delimiters become `\F\ \S\ \T\ \R\ \E\`, CR and LF become
 * `\X0D\` and `\X0A\`. Missing delimiters default to `| ^ ~ \ &`.
 */
export declare function escapeHl7(text: string, delimiters?: Partial<Hl7Delimiters>): string;
