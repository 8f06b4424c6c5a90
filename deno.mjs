// @ts-self-types="./deno.d.ts"
// ESM face of deno.js: the same objects, re-exported.
import cjs from "./deno.js";

export * from "@glion/ack";
export const { MllpClient, MllpClientError } = cjs;
export default cjs;
