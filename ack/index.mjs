// @ts-self-types="./index.d.ts"
// ESM entry: re-exports the CommonJS module so that `import` and `require()` share the
// very same class objects (no dual-package hazard). Do not define anything here.
import cjs from "./index.cjs";

export const {
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
} = cjs;
