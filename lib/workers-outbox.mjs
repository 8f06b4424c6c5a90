// @ts-self-types="./outbox.d.ts"
// `@glion/mllp-client/outbox` on Cloudflare Workers (also exported by the Workers entry):
// there is no durable local store there, so opening an outbox is refused.
import errors from "./errors.cjs";

const { MllpClientError, invalidInput } = errors;

// biome-ignore lint/complexity/noStaticOnlyClass: the contract's API is `Outbox.open(...)`, as on Node
export class Outbox {
  /** Always throws MllpClientError INVALID_INPUT: Workers have no durable local store. */
  static open() {
    throw invalidInput("the Outbox is not available on Cloudflare Workers (no durable local store); use a Queue or Durable Object, or run the Outbox on Node, Bun or Deno");
  }
}

export { MllpClientError };
