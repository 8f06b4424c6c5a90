// @ts-self-types="./testing.d.ts"
// ESM face of testing.js: the same objects, re-exported.
import cjs from "./testing.js";

export * from "@glion/ack";
export const { startTestReceiver, MllpClient, MllpClientError } = cjs;
export default cjs;
