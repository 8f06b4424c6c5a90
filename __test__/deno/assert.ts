// The few assertions the Deno suite needs, so that it runs offline (no jsr: download).
export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new Error(message);
}

export function assertEquals(actual: unknown, expected: unknown): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`expected ${e}, got ${a}`);
}

// deno-lint-ignore no-explicit-any
export async function assertRejects<E extends Error>(fn: () => Promise<unknown>, type: new (...args: any[]) => E): Promise<E> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof type) return error;
    throw new Error(`expected ${type.name}, got ${error}`);
  }
  throw new Error(`expected ${type.name} to be thrown, nothing was`);
}
