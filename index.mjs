// @ts-self-types="./index.d.ts"
// ESM face of index.cjs: the same objects, re-exported (no dual-package hazard).
import cjs from "./index.cjs";

export * from "@glion/ack";
export const { MllpClient, MllpClientError, EXIT_CODES, exitCodeFor } = cjs;
export default cjs;
