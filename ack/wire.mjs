// @ts-self-types="./wire.d.ts"
// ESM entry: re-exports the CommonJS module (one definition of FrameDecoder).
import cjs from "./wire.cjs";

export const {
  FrameDecoder,
  isUint8Array,
  isDetached,
  encodeFrame,
  prepareMessage,
  encodeText,
  decodeText,
  resolveEncoding,
  resolveCharset,
  canEncode,
  canDecode,
  ackCharset,
  isAsciiCompatible,
  decodeBytes,
  DEFAULT_MAX_FRAME_BYTES,
  START_BLOCK,
  END_BLOCK,
  CARRIAGE_RETURN,
} = cjs;
