"use strict";
// `mllp outbox stats|dead|requeue ID --store S [--queue Q] [--json]`: look at and repair an
// Outbox's store from a shell. It reads and writes the store directly and never delivers:
// safe beside running outboxes (a requeued message is picked up by the queue's deliverer).

const { parseArgs } = require("node:util");
const { parseStore, openStore } = require("./outbox.cjs");

const HELP = `Usage: mllp outbox <stats | dead | requeue ID> --store S [--queue Q] [--json]

Looks at an Outbox's store (it never delivers: the process that runs the Outbox does).

  stats        counts of the queue: pending (including one in flight), delivered, dead
  dead         the queue's dead letters, oldest first, with every attempt
  requeue ID   a dead letter back to the end of its queue

Options:
  --store S    sqlite:<path> or postgres://user:pw@host:5432/db (as in Outbox.open)
  --queue Q    default "default"
  --json       print JSON
  -h, --help   this help

Exit codes: 0 done, 1 ID is not a dead letter of the queue, 2 the store failed, 64 usage error.`;

/** Runs the subcommand; resolves with the exit code. */
async function outboxCommand(argv) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { store: { type: "string" }, queue: { type: "string", default: "default" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } } });
  } catch (error) {
    return usage(error.message);
  }
  const { values, positionals } = parsed;
  if (values.help) return console.log(HELP), 0;
  const [action, ...rest] = positionals;
  if (!["stats", "dead", "requeue"].includes(action)) return usage(action === undefined ? "give stats, dead or requeue ID" : `unknown outbox command ${JSON.stringify(action)}`);
  if (!values.store) return usage("--store is required");
  const expected = action === "requeue" ? 1 : 0;
  if (rest.length !== expected) return usage(action === "requeue" ? "requeue takes one message ID" : `${action} takes no arguments`);
  let id;
  if (action === "requeue") {
    id = Number(rest[0]);
    if (!Number.isSafeInteger(id) || id < 1) return usage(`ID must be a positive integer, got ${JSON.stringify(rest[0])}`);
  }
  let spec;
  try {
    spec = parseStore(values.store);
  } catch (error) {
    return usage(error.message);
  }
  let store;
  try {
    store = await openStore(spec);
    return await run(store, action, values.queue, id, values.json);
  } catch (error) {
    console.error(`mllp outbox: ${error.message}`);
    return 2;
  } finally {
    await store?.close();
  }
}

async function run(store, action, queue, id, json) {
  if (action === "stats") {
    const counts = await store.counts(queue);
    console.log(json ? JSON.stringify({ queue, ...counts }) : `queue ${queue}: pending ${counts.pending}, delivered ${counts.delivered}, dead ${counts.dead}`);
    return 0;
  }
  if (action === "dead") {
    const dead = await store.dead(queue);
    if (json) console.log(JSON.stringify(dead));
    else if (dead.length === 0) console.log(`queue ${queue}: no dead letters`);
    else {
      for (const d of dead) {
        const last = d.attempts.at(-1);
        console.log(`${d.id}\t${d.controlId ?? "-"}\t${d.code}\t${d.attempts.length} attempt(s), last ${last ? last.at.toISOString() : "-"}\t${d.reason ?? ""}`);
      }
    }
    return 0;
  }
  if (!(await store.requeue(queue, id))) {
    console.error(`mllp outbox: message ${id} is not a dead letter of queue ${JSON.stringify(queue)}`);
    return 1;
  }
  console.log(json ? JSON.stringify({ requeued: id, queue }) : `requeued ${id} to the end of queue ${queue}`);
  return 0;
}

function usage(message) {
  console.error(`mllp outbox: ${message}`);
  console.error('Run "mllp outbox --help" for usage.');
  return 64;
}

module.exports = { outboxCommand };
