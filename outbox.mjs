// @ts-self-types="./outbox.d.ts"
// ESM face of outbox.cjs: the same objects, re-exported.
import cjs from "./outbox.cjs";

export const { Outbox, MllpClientError } = cjs;
export default cjs;
