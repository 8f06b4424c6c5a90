// @ts-self-types="./outbox.d.ts"
// ESM face of outbox-entry.cjs: the same objects, re-exported.
import cjs from "./outbox-entry.cjs";

export const { Outbox, MllpClientError } = cjs;
export default cjs;
