// @ts-self-types="./wire.d.ts"
// ESM entry: re-exports the CommonJS module (one definition of FrameDecoder).
import cjs from "./wire.js";

export const {
  FrameDecoder,
  isUint8Array,
  isDetached,
  encodeFrame,
  prepareMessage,
  encodeText,
  decodeText,
  DEFAULT_MAX_FRAME_BYTES,
  START_BLOCK,
  END_BLOCK,
  CARRIAGE_RETURN,
} = cjs;
