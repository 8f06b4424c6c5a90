// @ts-self-types="./wire.d.ts"
"use strict";
/**
 * @glion/ack/wire: MLLP framing and outgoing-message checks in plain JavaScript.
 *
 * Implements the rules of docs/ARCHITECTURE.md ("Framing (decoder)" and "Outgoing message
 * checks") with web-platform APIs only (Uint8Array, TextEncoder, TextDecoder), so it runs
 * in Node.js, Bun, Deno and Cloudflare Workers. No Buffer.
 */

const START_BLOCK = 0x0b;
const END_BLOCK = 0x1c;
const CARRIAGE_RETURN = 0x0d;
const LINE_FEED = 0x0a;
const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

const STATE_OUTSIDE = 0;
const STATE_INSIDE = 1;
const STATE_AFTER_END = 2;
const STATE_FAILED = 3;

const charsets = require("./charsets.cjs");

function codedError(code, message, extra) {
  const error = new Error(message);
  error.code = code;
  if (extra) Object.assign(error, extra);
  return error;
}

function hexByte(byte) {
  return "0x" + byte.toString(16).toUpperCase().padStart(2, "0");
}

/**
 * What bytes outside a frame are, starting with the first stray one: HTTP and TLS answers
 * are named (a receiver on the wrong port, or one that expects TLS), anything else is shown
 * as its first byte. The Rust core's frame.rs writes the same messages (vectors: frames.json).
 */
function strayBytes(bytes) {
  const head = String.fromCharCode(...bytes.subarray(0, 5));
  if (head === "HTTP/") {
    let line = "";
    for (let i = 0; i < bytes.length && i < 60 && bytes[i] !== 0x0d && bytes[i] !== 0x0a; i++) line += String.fromCharCode(bytes[i]);
    return `the receiver answered with HTTP (${JSON.stringify(line)}), not MLLP: wrong port?`;
  }
  if ((bytes[0] === 0x15 || bytes[0] === 0x16) && bytes[1] === 0x03) {
    return `the receiver answered with a TLS record (${hexByte(bytes[0])} 0x03), not MLLP: it expects TLS (tls: false is set) or this is the wrong port?`;
  }
  return `unexpected byte ${hexByte(bytes[0])} outside an MLLP frame (expected 0x0B)`;
}

function isPadding(byte) {
  return byte === 0x00 || byte === 0x0d || byte === 0x0a || byte === 0x20 || byte === 0x09;
}

/**
 * Resumable MLLP frame decoder. Feed it chunks as they arrive; it never rescans bytes.
 */
class FrameDecoder {
  constructor(options = {}) {
    const { maxFrameBytes = DEFAULT_MAX_FRAME_BYTES } = options || {};
    if (typeof maxFrameBytes !== "number" || !Number.isInteger(maxFrameBytes) || maxFrameBytes < 0) {
      throw new TypeError("maxFrameBytes must be a non-negative integer");
    }
    this.maxFrameBytes = maxFrameBytes;
    this._state = STATE_OUTSIDE;
    /** @type {Uint8Array[]} pieces of the frame being collected (copies) */
    this._pieces = [];
    this._length = 0;
    /** content of a frame whose 0x1C was seen and whose 0x0D is awaited */
    this._pending = null;
  }

  /** True when no partial frame is held (between frames). */
  get idle() {
    return this._state === STATE_OUTSIDE;
  }

  /**
   * Consume `chunk` and return the frames it completed (content only, copies).
   * Throws an Error with `code === "MALFORMED_FRAME"`; frames completed earlier in the same
   * chunk are attached to that error as `error.frames`. After an error the decoder is
   * unusable (every later call throws MALFORMED_FRAME again).
   * @param {Uint8Array} chunk
   * @returns {Uint8Array[]}
   */
  push(chunk) {
    if (!isUint8Array(chunk)) {
      throw new TypeError("FrameDecoder.push expects a Uint8Array");
    }
    const frames = [];
    const fail = (message) => {
      this._state = STATE_FAILED;
      this._pieces = [];
      this._length = 0;
      this._pending = null;
      return codedError("MALFORMED_FRAME", message, { frames });
    };
    if (this._state === STATE_FAILED) {
      throw fail("the MLLP stream is already malformed");
    }
    const length = chunk.length;
    let at = 0;
    while (at < length) {
      const state = this._state;
      if (state === STATE_OUTSIDE) {
        const byte = chunk[at++];
        if (byte === START_BLOCK) {
          this._state = STATE_INSIDE;
          this._pieces = [];
          this._length = 0;
        } else if (!isPadding(byte)) {
          throw fail(strayBytes(chunk.subarray(at - 1)));
        }
      } else if (state === STATE_INSIDE) {
        const end = chunk.indexOf(END_BLOCK, at);
        const stop = end === -1 ? length : end;
        const startAt = stop > at ? chunk.subarray(at, stop).indexOf(START_BLOCK) : -1;
        const take = (startAt === -1 ? stop : at + startAt) - at;
        if (this._length + take > this.maxFrameBytes) {
          throw fail(`MLLP frame exceeds maxFrameBytes (${this.maxFrameBytes} bytes)`);
        }
        if (startAt !== -1) {
          throw fail("unexpected start block 0x0B inside an MLLP frame");
        }
        if (end === -1) {
          if (take > 0) {
            this._pieces.push(chunk.slice(at, stop));
            this._length += take;
          }
          at = length;
        } else {
          let content;
          if (this._pieces.length === 0) {
            content = chunk.slice(at, end);
          } else {
            if (take > 0) this._pieces.push(chunk.subarray(at, end));
            content = concat(this._pieces, this._length + take);
          }
          this._pieces = [];
          this._length = 0;
          this._pending = content;
          this._state = STATE_AFTER_END;
          at = end + 1;
        }
      } else {
        // STATE_AFTER_END
        const byte = chunk[at++];
        if (byte !== CARRIAGE_RETURN) {
          throw fail(`expected 0x0D after the end block 0x1C, got ${hexByte(byte)}`);
        }
        frames.push(this._pending);
        this._pending = null;
        this._state = STATE_OUTSIDE;
      }
    }
    return frames;
  }

  /**
   * Signal the end of the stream. Returns the frame accepted when only its final 0x0D was
   * missing, `null` on a clean end; throws an Error with `code === "CONNECTION_CLOSED"` when
   * the stream stopped inside a frame. The decoder is reset afterwards.
   * @returns {Uint8Array | null}
   */
  end() {
    const state = this._state;
    const pending = this._pending;
    this._state = STATE_OUTSIDE;
    this._pieces = [];
    this._length = 0;
    this._pending = null;
    if (state === STATE_INSIDE) {
      throw codedError("CONNECTION_CLOSED", "the connection closed in the middle of an MLLP frame");
    }
    if (state === STATE_FAILED) {
      throw codedError("MALFORMED_FRAME", "the MLLP stream is already malformed");
    }
    if (state === STATE_AFTER_END) return pending;
    return null;
  }
}

function concat(pieces, total) {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out;
}

/**
 * Any Uint8Array (a Buffer included), whatever realm made it: `instanceof Uint8Array` misses
 * those made by node:vm or in another worker, which are bytes all the same.
 * @param {unknown} value
 * @returns {value is Uint8Array}
 */
function isUint8Array(value) {
  return ArrayBuffer.isView(value) && Object.prototype.toString.call(value) === "[object Uint8Array]";
}

/**
 * True when the view's buffer was detached (transferred with postMessage or
 * structuredClone): its bytes are gone and reading them throws.
 * @param {Uint8Array} view
 */
function isDetached(view) {
  if (view.byteLength !== 0) return false;
  try {
    new Uint8Array(view.buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}

/**
 * Frame `bytes` for the wire: 0x0B + bytes + 0x1C 0x0D, in one allocation.
 * @param {Uint8Array} bytes
 * @returns {Uint8Array}
 */
function encodeFrame(bytes) {
  if (!isUint8Array(bytes)) throw new TypeError("encodeFrame expects a Uint8Array");
  const out = new Uint8Array(bytes.length + 3);
  out[0] = START_BLOCK;
  out.set(bytes, 1);
  out[bytes.length + 1] = END_BLOCK;
  out[bytes.length + 2] = CARRIAGE_RETURN;
  return out;
}

/**
 * Encode a string in a charset ("utf8", "latin1", a WHATWG label or an HL7 table 0211 name;
 * see charsets.cjs). A character the charset cannot encode, or a charset this runtime cannot
 * encode, is an Error with `code === "INVALID_INPUT"`.
 * @param {string} text
 * @param {string} [encoding]
 * @returns {Uint8Array}
 */
function encodeText(text, encoding = "utf8") {
  const charset = charsets.resolveCharset(encoding);
  if (typeof text !== "string") throw new TypeError("encodeText expects a string");
  return charsets.encodeText(text, charset);
}

/**
 * Decode bytes (undecodable bytes become U+FFFD). `latin1` is true ISO-8859-1 (each byte
 * is the char with that code), not the WHATWG "latin1" label (windows-1252); "auto" reads
 * the bytes' own MSH-18 (UTF-8 when none).
 * @param {Uint8Array} bytes
 * @param {string} [encoding]
 * @returns {string}
 */
function decodeText(bytes, encoding = "utf8") {
  const resolved = charsets.resolveEncoding(encoding);
  if (!isUint8Array(bytes)) throw new TypeError("decodeText expects a Uint8Array");
  return charsets.decodeBytes(bytes, charsets.ackCharset(bytes, resolved, "UTF-8"));
}

function startsWithHeader(bytes) {
  if (bytes.length < 4) return null;
  const a = bytes[0], b = bytes[1], c = bytes[2];
  let header = null;
  if (a === 0x4d && b === 0x53 && c === 0x48) header = "MSH";
  else if (a === 0x46 && b === 0x48 && c === 0x53) header = "FHS";
  else if (a === 0x42 && b === 0x48 && c === 0x53) header = "BHS";
  if (header === null) return null;
  const separator = bytes[3];
  // CR and LF end a segment, they cannot separate fields (0x0B/0x1C are rule 3).
  if (separator === CARRIAGE_RETURN || separator === LINE_FEED) return null;
  return header;
}

/** `\r\n` and lone `\n` become `\r`; returns `bytes` itself when there is no `\n`. */
function normalizeLineEnds(bytes) {
  let lf = bytes.indexOf(LINE_FEED);
  if (lf === -1) return bytes;
  const out = new Uint8Array(bytes.length);
  let read = 0;
  let write = 0;
  while (lf !== -1) {
    if (lf > read) {
      out.set(bytes.subarray(read, lf), write);
      write += lf - read;
    }
    // a \n right after a \r (in the input) is dropped, a lone \n becomes \r
    if (!(lf > 0 && bytes[lf - 1] === CARRIAGE_RETURN)) out[write++] = CARRIAGE_RETURN;
    read = lf + 1;
    lf = bytes.indexOf(LINE_FEED, read);
  }
  if (read < bytes.length) {
    out.set(bytes.subarray(read), write);
    write += bytes.length - read;
  }
  return out.subarray(0, write);
}

function msh10(bytes, charset) {
  const separator = bytes[3];
  let segmentEnd = bytes.indexOf(CARRIAGE_RETURN);
  if (segmentEnd === -1) segmentEnd = bytes.length;
  // MSH-10 is the text after the 9th field separator ("MSH" counts as field 0).
  let start = 3; // the 1st field separator, right after "MSH"
  for (let count = 2; count <= 9; count++) {
    start = bytes.indexOf(separator, start + 1);
    if (start === -1 || start >= segmentEnd) return "";
  }
  if (separator < 0x80) {
    // Decoded before it is split: in Shift_JIS, Big5 or ISO-2022-JP the byte 0x7C (`|`)
    // can be half of a character.
    const fields = charsets.decodeBytes(bytes.subarray(0, segmentEnd), charset).split(String.fromCharCode(separator));
    return fields[9] ?? "";
  }
  let end = bytes.indexOf(separator, start + 1);
  if (end === -1 || end > segmentEnd) end = segmentEnd;
  return charsets.decodeBytes(bytes.subarray(start + 1, end), charset);
}

/**
 * Check and prepare an outgoing message (docs/ARCHITECTURE.md, "Outgoing message checks").
 * Throws an Error with `code === "INVALID_INPUT"` naming the rule that failed.
 * `encoding`: a charset name, or "auto" (the message's MSH-18; none: UTF-8). `charset` in
 * the result is the one the message is written in (the ACK's fallback under "auto").
 * @param {string | Uint8Array} message
 * @param {string} [encoding]
 * @returns {{ bytes: Uint8Array, controlId: string | null, charset: string }}
 */
function prepareMessage(message, encoding = "utf8") {
  const resolved = charsets.resolveEncoding(encoding);
  if (isUint8Array(message) && isDetached(message)) {
    throw codedError("INVALID_INPUT", "message is a Uint8Array whose buffer was detached (transferred)");
  }
  if (typeof message !== "string" && !isUint8Array(message)) {
    throw codedError("INVALID_INPUT", "message must be a string or a Uint8Array");
  }
  const charset = charsets.messageCharset(message, resolved);
  if (!charsets.isAsciiCompatible(charset)) return prepareUtf16(message, resolved, charset);
  const bytes = typeof message === "string" ? charsets.encodeText(message, charset) : message;
  return checkBytes(bytes, charset);
}

/**
 * UTF-16: the checks apply to the text, which is then encoded. Bytes given are decoded
 * first (and must be valid UTF-16); under "auto" bytes beginning with ASCII MSH cannot be.
 */
function prepareUtf16(message, encoding, charset) {
  let text = message;
  if (typeof message !== "string") {
    if (encoding === "auto") {
      throw codedError("INVALID_INPUT", `MSH-18 names ${charset}, but the message bytes begin with ASCII MSH: pass a string, or the bytes with encoding ${JSON.stringify(charset.toLowerCase())}`);
    }
    try {
      text = new TextDecoder(charset, { fatal: true, ignoreBOM: true }).decode(message);
    } catch {
      throw codedError("INVALID_INPUT", `message bytes are not valid ${charset}`);
    }
  }
  const checked = checkBytes(charsets.encodeText(text, "UTF-8"), "UTF-8");
  const bytes = charsets.encodeText(charsets.decodeBytes(checked.bytes, "UTF-8"), charset);
  for (let i = 0; i + 1 < bytes.length; i++) {
    if (bytes[i] === END_BLOCK && bytes[i + 1] === CARRIAGE_RETURN) {
      throw codedError("INVALID_INPUT", `the ${charset} encoding of this message contains the bytes 0x1C 0x0D, which end an MLLP frame`);
    }
  }
  return { bytes, controlId: checked.controlId, charset };
}

/** The checks on bytes in an ASCII-compatible charset; line ends normalized. */
function checkBytes(bytes, charset) {
  if (bytes.length === 0) {
    throw codedError("INVALID_INPUT", "message is empty");
  }
  const header = startsWithHeader(bytes);
  if (header === null) {
    throw codedError("INVALID_INPUT", "message must start with MSH, FHS or BHS followed by a field separator");
  }
  if (bytes.indexOf(START_BLOCK) !== -1) {
    throw codedError("INVALID_INPUT", "message contains the MLLP start block byte 0x0B");
  }
  if (bytes.indexOf(END_BLOCK) !== -1) {
    throw codedError("INVALID_INPUT", "message contains the MLLP end block byte 0x1C");
  }
  bytes = normalizeLineEnds(bytes);
  const controlId = header === "MSH" ? msh10(bytes, charset) : null;
  return { bytes, controlId, charset };
}

module.exports = {
  FrameDecoder,
  isUint8Array,
  isDetached,
  encodeFrame,
  prepareMessage,
  encodeText,
  decodeText,
  resolveEncoding: charsets.resolveEncoding,
  resolveCharset: charsets.resolveCharset,
  canEncode: charsets.canEncode,
  canDecode: charsets.canDecode,
  ackCharset: charsets.ackCharset,
  isAsciiCompatible: charsets.isAsciiCompatible,
  decodeBytes: charsets.decodeBytes,
  DEFAULT_MAX_FRAME_BYTES,
  START_BLOCK,
  END_BLOCK,
  CARRIAGE_RETURN,
};
