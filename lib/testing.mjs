// @ts-self-types="./testing.d.ts"
// ESM face of testing.cjs: the same objects, re-exported.
import cjs from "./testing.cjs";

export * from "@glion/ack";
export const { startTestReceiver, MllpClient, MllpClientError } = cjs;
export default cjs;
