// Runs one of this app's TypeScript entries (src/*.ts) on the runtime that started it:
//   npm run send ...    Node: through tsx (Node 20 cannot run .ts by itself)
//   bun run send ...    Bun: Bun runs .ts itself. `bun run` starts this script's `node`
//                       (it keeps the command as written), so this file hands over to Bun
//                       when Bun's package runner started it (npm_config_user_agent "bun/...").
// Usage: node launch.mjs src/send.ts [flags...]

import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [entry, ...flags] = process.argv.slice(2);
if (!entry) {
  console.error("usage: node launch.mjs src/<script>.ts [flags...]");
  process.exit(64);
}
const file = resolve(entry);
const bunRunner = (process.env.npm_config_user_agent ?? "").startsWith("bun/") ? process.env.npm_execpath : undefined;

if (!process.versions.bun && bunRunner) {
  const child = spawn(bunRunner, [file, ...flags], { stdio: "inherit" });
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal); // end like the child did, by the same signal
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
    return;
  });
} else {
  // The entry reads its flags from process.argv.slice(2), as if it had been run directly.
  process.argv.splice(2, 1);
  if (!process.versions.bun) {
    const { register } = await import("tsx/esm/api");
    register();
  }
  await import(pathToFileURL(file).href);
}
