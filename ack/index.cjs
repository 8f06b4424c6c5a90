// @ts-self-types="./index.d.ts"
"use strict";

const charsets = require("./charsets.cjs");

/**
 * @glion/ack: the HL7v2 ACK exception hierarchy, parseAck, buildAck and HL7 escaping.
 *
 * This CommonJS file is the only definition of every class; index.mjs re-exports it, so
 * `import` and `require()` see the very same class objects.
 */

const { isUint8Array } = require("./wire.cjs");

const ACK_CODES = Object.freeze(["AA", "AE", "AR", "CA", "CE", "CR"]);
const NAK_CODES = Object.freeze(["AE", "AR", "CE", "CR"]);

const DEFAULT_DELIMITERS = Object.freeze({
  field: "|",
  component: "^",
  repetition: "~",
  escape: "\\",
  subcomponent: "&",
});

const DEFAULT_TEXT = Object.freeze({
  AA: "Application accept (AA)",
  AE: "Application error (AE)",
  AR: "Application reject (AR)",
  CA: "Commit accept (CA)",
  CE: "Commit error (CE)",
  CR: "Commit reject (CR)",
});

/** Descriptions of HL7 table 0357 (message error condition codes). */
const HL70357 = Object.freeze({
  0: "Message accepted",
  100: "Segment sequence error",
  101: "Required field missing",
  102: "Data type error",
  103: "Table value not found",
  104: "Value too long",
  200: "Unsupported message type",
  201: "Unsupported event code",
  202: "Unsupported processing id",
  203: "Unsupported version id",
  204: "Unknown key identifier",
  205: "Duplicate key identifier",
  206: "Application record locked",
  207: "Application internal error",
});

/**
 * The ERR-3 code buildAck writes for a NAK without one: HL7 table 0357 207 "Application
 * internal error" for AE/CE, 200 "Unsupported message type" for AR/CR.
 */
const DEFAULT_ERROR_CODE = Object.freeze({ AE: "207", CE: "207", AR: "200", CR: "200" });

function defaultText(code) {
  return DEFAULT_TEXT[code] ?? "HL7 negative acknowledgment";
}

// ---------------------------------------------------------------------------------------
// Exceptions
// ---------------------------------------------------------------------------------------

// Bundlers that rename classes (esbuild without keepNames, minifiers) must not change
// `error.name`: built-in classes carry their name as a string; a user's subclass keeps its own.
const CLASS_NAME = Symbol("glion.ack.className");
function classNameOf(ctor) {
  return Object.hasOwn(ctor, CLASS_NAME) ? ctor[CLASS_NAME] : ctor.name;
}

/** Base class of every ACK exception; `code` is MSA-1. */
class AckException extends Error {
  constructor(message, fields) {
    const f = fields == null ? {} : fields;
    if (typeof f !== "object") throw new TypeError("AckException fields must be an object");
    const fixed = new.target.code;
    const code = fixed !== undefined ? fixed : f.code;
    const text = message === undefined || message === null || message === "" ? defaultText(code) : String(message);
    if (f.cause !== undefined) super(text, { cause: f.cause });
    else super(text);
    Object.defineProperty(this, "name", {
      value: classNameOf(new.target),
      writable: true,
      configurable: true,
      enumerable: false,
    });
    this.code = code;
    this.errorCode = f.errorCode !== undefined ? f.errorCode : new.target.defaultErrorCode;
    this.severity = f.severity;
    this.raw = f.raw;
    this.controlId = f.controlId;
    this.ack = f.ack;
    this.errors = Array.isArray(f.errors) ? f.errors : [];
  }
}
AckException.code = undefined;
AckException.defaultErrorCode = undefined;

/** MSA-1 = AE: the receiver could not process the message. */
class AckApplicationError extends AckException {}
AckApplicationError.code = "AE";

/** MSA-1 = AR: the receiver rejected the message (type, version, processing id...). */
class AckApplicationReject extends AckException {}
AckApplicationReject.code = "AR";

/** MSA-1 = CE (enhanced mode): the receiver could not commit the message. */
class AckCommitError extends AckException {}
AckCommitError.code = "CE";

/** MSA-1 = CR (enhanced mode): the receiver refused to commit the message. */
class AckCommitReject extends AckException {}
AckCommitReject.code = "CR";

/** AR with HL7 table 0357 code 200: unsupported message type. */
class UnsupportedMessageTypeReject extends AckApplicationReject {}
UnsupportedMessageTypeReject.defaultErrorCode = "200";

/** AE with HL7 table 0357 code 207: application internal error. */
class ApplicationInternalError extends AckApplicationError {}
ApplicationInternalError.defaultErrorCode = "207";

/** CE with HL7 table 0357 code 207: internal error while committing. */
class CommitInternalError extends AckCommitError {}
CommitInternalError.defaultErrorCode = "207";

for (const [ctor, name] of [
  [AckException, "AckException"],
  [AckApplicationError, "AckApplicationError"],
  [AckApplicationReject, "AckApplicationReject"],
  [AckCommitError, "AckCommitError"],
  [AckCommitReject, "AckCommitReject"],
  [UnsupportedMessageTypeReject, "UnsupportedMessageTypeReject"],
  [ApplicationInternalError, "ApplicationInternalError"],
  [CommitInternalError, "CommitInternalError"],
]) {
  ctor[CLASS_NAME] = name;
}

/** Thrown by parseAck when its input is not a parsable ACK. */
class AckParseError extends Error {
  constructor(message) {
    super(message);
    Object.defineProperty(this, "name", {
      value: classNameOf(new.target),
      writable: true,
      configurable: true,
      enumerable: false,
    });
    this.code = "MALFORMED_ACK";
  }
}
AckParseError[CLASS_NAME] = "AckParseError";

const BY_CODE = { AE: AckApplicationError, AR: AckApplicationReject, CE: AckCommitError, CR: AckCommitReject };

/**
 * The most specific exception for a negative Ack (AE/AR/CE/CR), `null` for AA/CA.
 */
function exceptionFromAck(ack) {
  if (ack === null || typeof ack !== "object") throw new TypeError("exceptionFromAck expects an Ack object");
  const code = ack.code;
  if (code === "AA" || code === "CA") return null;
  const Base = BY_CODE[code];
  if (Base === undefined) throw new TypeError(`not an ACK code: ${JSON.stringify(code)}`);
  const errorCode = typeof ack.errorCode === "string" ? ack.errorCode.trim() : undefined;
  let Class = Base;
  if (code === "AR" && errorCode === "200") Class = UnsupportedMessageTypeReject;
  else if (code === "AE" && errorCode === "207") Class = ApplicationInternalError;
  else if (code === "CE" && errorCode === "207") Class = CommitInternalError;
  return new Class(ack.message, {
    errorCode: ack.errorCode,
    severity: ack.severity,
    raw: ack.raw,
    controlId: ack.controlId,
    ack,
    errors: Array.isArray(ack.errors) ? ack.errors : [],
  });
}

// ---------------------------------------------------------------------------------------
// Escaping
// ---------------------------------------------------------------------------------------

function resolveDelimiters(delimiters) {
  if (delimiters == null) return DEFAULT_DELIMITERS;
  return {
    field: delimiters.field || DEFAULT_DELIMITERS.field,
    component: delimiters.component || DEFAULT_DELIMITERS.component,
    repetition: delimiters.repetition || DEFAULT_DELIMITERS.repetition,
    escape: delimiters.escape || DEFAULT_DELIMITERS.escape,
    subcomponent: delimiters.subcomponent || DEFAULT_DELIMITERS.subcomponent,
  };
}

const HEX = /^(?:[0-9A-Fa-f]{2})+$/;
let fatalUtf8;

function decodeHex(hex) {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  try {
    fatalUtf8 ??= new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    return fatalUtf8.decode(bytes);
  } catch {
    let out = "";
    for (let i = 0; i < bytes.length; i++) out += String.fromCharCode(bytes[i]);
    return out;
  }
}

/**
 * Decode HL7 escape sequences: \F\ \S\ \T\ \R\ \E\ (with the message's own escape
 * character) and \Xhh..\ (UTF-8 when valid, else Latin-1). Other escapes and an
 * unterminated escape are kept verbatim.
 */
function unescapeHl7(text, delimiters) {
  if (typeof text !== "string") throw new TypeError("unescapeHl7 expects a string");
  const d = resolveDelimiters(delimiters);
  const esc = d.escape;
  let at = text.indexOf(esc);
  if (at === -1) return text;
  let out = "";
  let read = 0;
  while (at !== -1) {
    const close = text.indexOf(esc, at + esc.length);
    if (close === -1) break; // unterminated: the rest is kept verbatim
    const body = text.slice(at + esc.length, close);
    let value;
    switch (body) {
      case "F": value = d.field; break;
      case "S": value = d.component; break;
      case "T": value = d.subcomponent; break;
      case "R": value = d.repetition; break;
      case "E": value = d.escape; break;
      default:
        if (body.length > 1 && body[0] === "X" && HEX.test(body.slice(1))) value = decodeHex(body.slice(1));
    }
    if (value === undefined) {
      out += text.slice(read, close + esc.length); // unknown escape kept as it stands
    } else {
      out += text.slice(read, at) + value;
    }
    read = close + esc.length;
    at = text.indexOf(esc, read);
  }
  return out + text.slice(read);
}

/**
 * Escape text for an HL7 field: the delimiters become \F\ \S\ \T\ \R\ \E\, and CR / LF
 * become \X0D\ / \X0A\ (a raw CR would end the segment).
 */
function escapeHl7(text, delimiters) {
  if (typeof text !== "string") throw new TypeError("escapeHl7 expects a string");
  const d = resolveDelimiters(delimiters);
  const map = new Map([
    [d.escape, "E"],
    [d.field, "F"],
    [d.component, "S"],
    [d.subcomponent, "T"],
    [d.repetition, "R"],
    ["\r", "X0D"],
    ["\n", "X0A"],
  ]);
  let out = "";
  let read = 0;
  for (let i = 0; i < text.length; i++) {
    const name = map.get(text[i]);
    if (name !== undefined) {
      out += text.slice(read, i) + d.escape + name + d.escape;
      read = i + 1;
    }
  }
  return read === 0 ? text : out + text.slice(read);
}

// ---------------------------------------------------------------------------------------
// parseAck
// ---------------------------------------------------------------------------------------

const SEGMENT_SPLIT = /\r\n|\r|\n/;

/**
 * The delimiters of a header segment (MSH, or FHS/BHS opening a batch): the character
 * after the name is the field separator, the next ones up to it are MSH-2. Characters,
 * not UTF-16 code units, so the Rust core and this parser agree on any delimiter.
 */
function delimitersOf(headerSegment) {
  const chars = Array.from(headerSegment.slice(3, 3 + 2 * 6));
  const field = chars[0];
  const enc = [];
  for (let i = 1; i < chars.length && chars[i] !== field && enc.length < 4; i++) enc.push(chars[i]);
  return {
    field,
    component: enc[0] || "^",
    repetition: enc[1] || "~",
    escape: enc[2] || "\\",
    subcomponent: enc[3] || "&",
  };
}

function nonEmpty(value) {
  return value === undefined || value === "" ? undefined : value;
}

function firstRepetition(field, d) {
  if (field === undefined || field === "") return "";
  const at = field.indexOf(d.repetition);
  return at === -1 ? field : field.slice(0, at);
}

function firstComponent(field, d) {
  const rep = firstRepetition(field, d);
  const at = rep.indexOf(d.component);
  return at === -1 ? rep : rep.slice(0, at);
}

function textOf(value, d) {
  if (value === undefined || value === "") return undefined;
  return value.includes(d.escape) ? unescapeHl7(value, d) : value;
}

/**
 * One ERR segment (rules: docs/ARCHITECTURE.md "ACK parsing"; the Rust core's parse_err
 * follows the same ones). v2.5+: ERR-2 location, ERR-3 CWE code^text, ERR-4 severity,
 * ERR-8 user message; v2.3-2.4: ERR-1 ELD segment^sequence^field^code&text&table.
 */
function parseErr(fields, d) {
  const err3 = firstRepetition(fields[3], d);
  const eld = firstRepetition(fields[1], d);
  let code;
  let text;
  if (err3 !== "") {
    const parts = err3.split(d.component, 2);
    code = parts[0];
    text = parts[1];
  } else if (eld !== "") {
    const coded = (eld.split(d.component, 4)[3] ?? "").split(d.subcomponent, 2);
    code = coded[0];
    text = coded[1];
  }
  let location = nonEmpty(firstRepetition(fields[2], d));
  if (location === undefined && eld !== "") {
    const where = eld.split(d.component, 3);
    while (where.length > 0 && where[where.length - 1] === "") where.pop();
    location = nonEmpty(where.join(d.component));
  }
  return {
    errorCode: textOf(code, d),
    errorText: textOf(text, d) ?? textOf(fields[8], d),
    severity: nonEmpty(firstComponent(fields[4], d)),
    location,
  };
}

/** Spaces and tabs around MSA-1/MSA-2 are dropped, nothing else (as in the Rust core). */
function trimBlanks(text) {
  let start = 0;
  let end = text.length;
  while (start < end && (text[start] === " " || text[start] === "\t")) start++;
  while (end > start && (text[end - 1] === " " || text[end - 1] === "\t")) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/** Segment names that end one message of a batch (`[FHS] BHS { MSH MSA [ERR] } BTS [FTS]`). */
const MESSAGE_ENDS = new Set(["MSH", "BHS", "BTS", "FHS", "FTS"]);

/**
 * Parse an ACK message (the frame content, as a string or as bytes) into its Ack fields. A
 * batch of ACKs is read too: the first MSA decides, `raw` is the whole text. Bytes are
 * decoded with `options.encoding` (default "utf8"; any name of the README's "Character
 * sets"; "auto": the ACK's own MSH-18, else UTF-8). Throws AckParseError (code
 * "MALFORMED_ACK") when it is not a parsable ACK, an Error with code "INVALID_INPUT" for an
 * unknown encoding.
 */
function parseAck(raw, options) {
  if (isUint8Array(raw)) {
    const encoding = charsets.resolveEncoding(options?.encoding ?? "utf8");
    raw = charsets.decodeBytes(raw, charsets.ackCharset(raw, encoding, "UTF-8"));
  }
  if (typeof raw !== "string") throw new TypeError("parseAck expects a string or a Uint8Array");
  const segments = raw.split(SEGMENT_SPLIT).filter((segment) => segment.length > 0);
  if (segments.length === 0) throw new AckParseError("ACK is empty");
  // A byte order mark before the header (a receiver writing "UTF-8 with BOM") is skipped.
  const header = segments[0].startsWith("\uFEFF") ? segments[0].slice(1) : segments[0];
  if (!/^(?:MSH|FHS|BHS)/.test(header)) throw new AckParseError("ACK does not start with an MSH segment (or FHS/BHS for a batch)");
  if (header.length < 4) throw new AckParseError("ACK MSH segment has no field separator");
  const d = delimitersOf(header);

  // The first MSA decides; the ERR segments read are those of its message.
  let msa;
  let errors = [];
  for (let i = 1; i < segments.length; i++) {
    const fields = segments[i].split(d.field);
    const name = fields[0];
    if (MESSAGE_ENDS.has(name)) {
      if (msa !== undefined) break;
      errors = [];
    } else if (name === "MSA") {
      if (msa === undefined) msa = fields;
    } else if (name === "ERR") {
      errors.push(parseErr(fields, d));
    }
  }
  if (msa === undefined) throw new AckParseError("ACK has no MSA segment");
  const code = trimBlanks(msa[1] ?? "");
  if (!ACK_CODES.includes(code)) {
    throw new AckParseError(`ACK MSA-1 must be one of ${ACK_CODES.join(" ")}, got ${JSON.stringify(msa[1] ?? "")}`);
  }
  const first = errors[0];
  return {
    code,
    controlId: trimBlanks(msa[2] ?? ""),
    message: textOf(msa[3], d),
    errorCode: first === undefined ? undefined : first.errorCode,
    severity: first === undefined ? undefined : first.severity,
    errors,
    raw,
  };
}

// ---------------------------------------------------------------------------------------
// buildAck
// ---------------------------------------------------------------------------------------

function pad(number, width) {
  return String(number).padStart(width, "0");
}

function formatTimestamp(date) {
  return (
    pad(date.getFullYear(), 4) +
    pad(date.getMonth() + 1, 2) +
    pad(date.getDate(), 2) +
    pad(date.getHours(), 2) +
    pad(date.getMinutes(), 2) +
    pad(date.getSeconds(), 2)
  );
}

let counter = 0;

/** A fresh control id: "ACK" + time (base 36) + counter + random, 20 chars at most. */
function newControlId() {
  counter = (counter + 1) % 1679616; // 36^4
  const time = Date.now().toString(36).toUpperCase().slice(-8).padStart(8, "0");
  const count = counter.toString(36).toUpperCase().padStart(4, "0");
  const random = Math.floor(Math.random() * 60466176).toString(36).toUpperCase().padStart(5, "0"); // 36^5
  return "ACK" + time + count + random;
}

/** True when the HL7 version (MSH-12.1, e.g. "2.5.1") is 2.5 or later; unknown → true. */
function isV25OrLater(version) {
  const match = /^\s*(\d+)(?:\.(\d+))?/.exec(version || "");
  if (match === null) return true;
  const major = Number(match[1]);
  const minor = match[2] === undefined ? 0 : Number(match[2]);
  return major > 2 || (major === 2 && minor >= 5);
}

function originalText(original, encoding) {
  if (typeof original === "string") return original;
  if (isUint8Array(original)) {
    if (encoding === "latin1") {
      let out = "";
      for (let i = 0; i < original.length; i++) out += String.fromCharCode(original[i]);
      return out;
    }
    return new TextDecoder("utf-8").decode(original);
  }
  throw new TypeError("buildAck: original must be a string or a Uint8Array");
}

/**
 * Build the ACK message text (segments joined by \r, no trailing \r, unframed) that a
 * receiver sends back for `original`.
 */
function buildAck(original, codeOrException, options) {
  const o = options == null ? {} : options;
  const text = originalText(original, o.encoding);
  const header = text.split(SEGMENT_SPLIT, 1)[0];
  if (!header.startsWith("MSH") || header.length < 4) {
    throw new TypeError("buildAck: the original message must start with an MSH segment");
  }
  const d = delimitersOf(header);
  const mshFields = header.split(d.field);
  const msh = (n) => mshFields[n - 1] ?? "";

  let code;
  let exception;
  if (codeOrException instanceof AckException) {
    exception = codeOrException;
    code = exception.code;
  } else {
    code = codeOrException;
  }
  if (!ACK_CODES.includes(code)) {
    throw new TypeError(`buildAck: code must be one of ${ACK_CODES.join(" ")} or an AckException, got ${JSON.stringify(code)}`);
  }
  const isNak = NAK_CODES.includes(code);

  let timestamp;
  if (o.timestamp === undefined) timestamp = formatTimestamp(new Date());
  else if (o.timestamp instanceof Date) {
    if (Number.isNaN(o.timestamp.getTime())) throw new TypeError("buildAck: timestamp is an invalid Date");
    timestamp = formatTimestamp(o.timestamp);
  } else if (typeof o.timestamp === "string") timestamp = o.timestamp;
  else throw new TypeError("buildAck: timestamp must be a Date or a string");

  const controlId = o.controlId !== undefined && o.controlId !== null ? String(o.controlId) : newControlId();
  const trigger = msh(9).split(d.repetition)[0].split(d.component)[1] ?? "";
  const messageType = trigger === "" ? "ACK" : ["ACK", trigger, "ACK"].join(d.component);

  const out = [
    "MSH",
    msh(2),
    msh(5),
    msh(6),
    msh(3),
    msh(4),
    timestamp,
    "",
    messageType,
    controlId,
    msh(11),
    msh(12),
  ];
  while (out.length > 10 && out[out.length - 1] === "") out.pop();
  // out[0] is "MSH" and out[1] is MSH-2: joining with the field separator yields MSH|^~\&|...
  const segments = [out.join(d.field)];

  const messageText = o.text !== undefined && o.text !== null ? String(o.text) : exception?.message;
  const msa = ["MSA", code, msh(10)];
  if (messageText !== undefined && messageText !== "") msa.push(escapeHl7(messageText, d));
  segments.push(msa.join(d.field));

  if (isNak) {
    // Every NAK carries an ERR segment: the given code, else HL7 table 0357's generic one.
    const given = o.errorCode ?? exception?.errorCode;
    const errorCode = given === undefined || given === null || String(given) === "" ? DEFAULT_ERROR_CODE[code] : String(given);
    const errText = o.errorText ?? messageText ?? HL70357[Number(errorCode)] ?? "";
    const severity = o.severity ?? exception?.severity ?? "E";
    const location = o.location ?? exception?.errors?.[0]?.location ?? "";
    const codedElement = (sep) => [escapeHl7(errorCode, d), escapeHl7(errText, d), "HL70357"].join(sep);
    if (isV25OrLater(msh(12).split(d.component)[0])) {
      segments.push(["ERR", "", location, codedElement(d.component), severity].join(d.field));
    } else {
      // v2.3-2.4 carry the code in ERR-1 (ELD); ERR-4 (severity, v2.5's) is added so that
      // the severity survives: older receivers ignore the extra field.
      const where = location === "" ? [] : location.split(d.component).slice(0, 3);
      while (where.length < 3) where.push("");
      segments.push(["ERR", [...where, codedElement(d.subcomponent)].join(d.component), "", "", severity].join(d.field));
    }
  }
  return segments.join("\r");
}

module.exports = {
  ACK_CODES,
  DEFAULT_DELIMITERS,
  AckException,
  AckApplicationError,
  AckApplicationReject,
  AckCommitError,
  AckCommitReject,
  UnsupportedMessageTypeReject,
  ApplicationInternalError,
  CommitInternalError,
  AckParseError,
  exceptionFromAck,
  parseAck,
  buildAck,
  unescapeHl7,
  escapeHl7,
};
