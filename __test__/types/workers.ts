// The spec's Cloudflare Workers snippet, verbatim, type-checked against workers.d.ts with
// @cloudflare/workers-types: `tsc -p __test__/types/tsconfig.workers.json --noEmit`.
// (Bundler resolution, as wrangler users have it; `message` is defined earlier in the spec.)
declare const message: string;

import { MllpClient } from "@glion/mllp-client/workers";
const client = new MllpClient({ host: "mllp.example.com", port: 6661 });
const ack = await client.send(message);

// Beyond the snippet: the same API and classes as the other entries.
import { AckApplicationError, MllpClientError, type MllpClientErrorCode } from "@glion/mllp-client/workers";
import { AckException } from "@glion/ack";

const code: "AA" | "AE" | "AR" | "CA" | "CE" | "CR" = ack.code;
const raw: string = ack.raw;
const plain = new MllpClient({ host: "127.0.0.1", port: 2575, tls: false, ackTimeout: 5000, encoding: "latin1" });
const same = new MllpClient({ host: "mllp.example.com", port: 6661, tls: {} });
const controller = new AbortController();
await plain.send(new Uint8Array([0x4d, 0x53, 0x48]), { signal: controller.signal, ackTimeout: 300 });
for await (const frame of plain.stream(message)) {
  const frameCode: string = frame.code;
  void frameCode;
}
try {
  await client.send(message);
} catch (error) {
  if (error instanceof AckApplicationError) {
    const errorCode: string | undefined = error.errorCode;
    void errorCode;
  } else if (error instanceof AckException) {
  } else if (error instanceof MllpClientError) {
    const errorCode: MllpClientErrorCode = error.code;
    const sent: boolean = error.sent;
    void [errorCode, sent];
  }
}

// The Workers runtime cannot honour programmatic TLS material: the types refuse it too.
// @ts-expect-error tls.ca is not accepted on Workers
new MllpClient({ host: "mllp.example.com", port: 6661, tls: { ca: "-----BEGIN CERTIFICATE-----" } });
// @ts-expect-error tls.insecure is not accepted on Workers
new MllpClient({ host: "mllp.example.com", port: 6661, tls: { insecure: true } });

// No connection pool on Workers.
// @ts-expect-error pool is not available on Workers
new MllpClient({ host: "mllp.example.com", port: 6661, pool: true });
await plain.close();

// A Worker's fetch handler with the Workers types in scope.
export default {
  async fetch(_request: Request): Promise<Response> {
    const result = await client.send(message);
    return Response.json({ code: result.code, controlId: result.controlId });
  },
} satisfies ExportedHandler;

void [code, raw, same];
