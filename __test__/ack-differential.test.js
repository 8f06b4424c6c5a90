"use strict";
// One ACK truth: the Rust core's parser (Node, Bun, Deno) and `@glion/ack`'s parseAck
// (Workers, receivers) must give the same fields, or the same refusal, for the same text.
// fast-check generates ACKs (v2.3 and v2.5 ERR layouts and mixes, escapes, odd delimiters
// from MSH-1/MSH-2, batches, BOMs, Unicode and ASCII whitespace, line-end mixes) and each is
// fed to both. A failure prints the shrunk counterexample: add it to __test__/vectors/ack.json.
// More runs: GLION_DIFF_RUNS=100000 node --test __test__/ack-differential.test.js

const { test } = require("node:test");
const assert = require("node:assert/strict");
const fc = require("fast-check");

const native = require("../binding.cjs");
const { parseAck, buildAck, AckException } = require("@glion/ack");

const RUNS = Number(process.env.GLION_DIFF_RUNS) || 3000;

/** The Rust parser's answer, as plain JSON (null for an absent value). */
function rust(text) {
  return JSON.parse(native.__parseAckForTests(text));
}

/** parseAck's answer in the same shape. */
function js(text) {
  let ack;
  try {
    ack = parseAck(text);
  } catch (error) {
    if (error && error.code === "MALFORMED_ACK") return { error: "MALFORMED_ACK" };
    throw error;
  }
  return JSON.parse(JSON.stringify(ack, (_key, value) => (value === undefined ? null : value)));
}

/** Both answers, compared on every field (an error compares by its code). */
function assertSame(text) {
  const r = rust(text);
  const j = js(text);
  if ("error" in r) {
    assert.deepEqual(j, { error: r.error }, `Rust refused (${r.message}), parseAck did not, for ${JSON.stringify(text)}`);
  } else {
    assert.deepEqual(j, r, `fields differ for ${JSON.stringify(text)}`);
  }
}

// --- generators ---------------------------------------------------------------------------
// ACKs are generated as templates in which private-use characters stand for the delimiters,
// then the delimiters are drawn and substituted (one pass, no fc.chain: generation stays fast).

const F = "\uE001"; // field separator
const C = "\uE002"; // component
const R = "\uE003"; // repetition
const E = "\uE004"; // escape
const S = "\uE005"; // subcomponent
const MSH2 = "\uE006"; // MSH-2 as declared (0 to 4 of its characters)

const DELIMITER_POOL = ["|", "^", "~", "\\", "&", "#", "*", "!", "@", "%", "$", "§", "¤", "µ", "😀", " ", "\t", "\uFEFF", "A"];
const SPACES = [" ", "\t", "\u00a0", "\uFEFF", "\u3000", "\u0085", "\u2003"];
const WORDS = ["MSG0001", "PID", "1", "3", "204", "207", "Oops", "HL70357", "x", "Unknown key", "E", "W", "2.5", "é", "😀"];
const ESCAPES = ["F", "S", "T", "R", "E", "X41", "XC3A9", "XE9", "Xe9", "X4", "XZZ", "H", "N", ".br", "X"].map((b) => E + b + E);

const delimiter = (usual) => fc.oneof({ weight: 6, arbitrary: fc.constant(usual) }, { weight: 4, arbitrary: fc.constantFrom(...DELIMITER_POOL) });
const delimitersArb = fc.record({
  field: delimiter("|"),
  component: delimiter("^"),
  repetition: delimiter("~"),
  escape: delimiter("\\"),
  subcomponent: delimiter("&"),
  declared: fc.integer({ min: 0, max: 4 }),
});

/** A bit of field text: words, escapes (known, hex, unknown, unterminated), spaces, delimiters. */
const textArb = (maxLength = 5) =>
  fc
    .array(
      fc.oneof(
        { weight: 5, arbitrary: fc.constantFrom(...WORDS) },
        { weight: 2, arbitrary: fc.constantFrom(...ESCAPES, E, E + "F") },
        { weight: 2, arbitrary: fc.constantFrom(...SPACES, "") },
        { weight: 1, arbitrary: fc.constantFrom(C, R, S) },
      ),
      { maxLength },
    )
    .map((parts) => parts.join(""));
const text = textArb();
const shortText = textArb(2);

const padArb = fc.constantFrom("", "", "", " ", "\t", " \t", ...SPACES);
const codeArb = fc.oneof({ weight: 8, arbitrary: fc.constantFrom("AA", "AE", "AR", "CA", "CE", "CR") }, { weight: 1, arbitrary: fc.constantFrom("aa", "XX", "", "A") });

const msaArb = fc
  .tuple(padArb, codeArb, padArb, padArb, fc.constantFrom("MSG0001", "42", "", "A B"), padArb, fc.option(text), fc.array(shortText, { maxLength: 2 }))
  .map(([p1, code, p2, p3, id, p4, msa3, more]) => {
    const fields = ["MSA", p1 + code + p2, p3 + id + p4];
    if (msa3 !== null) fields.push(msa3, ...more);
    return fields.join(F);
  });

const repArb = fc.constantFrom("", "", R, R + "x");
const v25Err = fc
  .tuple(text, text, text, text, text, fc.constantFrom("E", "W", "I", "", "E" + C + "Error"), text, repArb)
  .map(([loc, code, errText, sys, msg, sev, eld, rep]) => ["ERR", eld, loc + rep, [code, errText, sys].join(C) + rep, sev, "", "", "", msg].join(F));
const v23Err = fc.tuple(text, text, text, text, text, text, repArb, fc.option(text)).map(([seg, seq, fld, code, errText, tbl, rep, sev]) => {
  const fields = ["ERR", [seg, seq, fld, [code, errText, tbl].join(S)].join(C) + rep];
  if (sev !== null) fields.push("", "", sev);
  return fields.join(F);
});
const mixedErr = fc.array(text, { maxLength: 9 }).map((fields) => ["ERR", ...fields].join(F));
const errArb = fc.oneof(v25Err, v23Err, mixedErr);

const headerRest = fc.tuple(fc.array(shortText, { maxLength: 10 }), fc.boolean());
const header = (name) => headerRest.map(([rest, cut]) => (cut ? name + F : [name + F + MSH2, ...rest].join(F)));

const segmentArb = fc.oneof(
  { weight: 4, arbitrary: msaArb },
  { weight: 4, arbitrary: errArb },
  { weight: 1, arbitrary: fc.constantFrom("MSH", "BHS", "BTS", "FHS", "FTS").chain(header) },
  { weight: 1, arbitrary: fc.constantFrom("PID", "ZZZ", "MSAX", "ERRX", "BTS", "").map((name) => name + F + "1") },
);

const templateArb = fc.tuple(
  fc.constantFrom("", "", "", "\uFEFF", "\r\n", "\r\n\uFEFF", " "),
  fc.oneof({ weight: 6, arbitrary: fc.constant("MSH") }, { weight: 2, arbitrary: fc.constantFrom("BHS", "FHS") }, { weight: 1, arbitrary: fc.constantFrom("PID", "MS", "msh", "") }),
  headerRest,
  fc.array(segmentArb, { maxLength: 8 }),
  fc.array(fc.constantFrom("\r", "\r", "\n", "\r\n", "\r\r", "\n\n"), { minLength: 9, maxLength: 9 }),
  fc.constantFrom("", "\r", "\n", "\r\n"),
);

const ackTextArb = fc.tuple(delimitersArb, templateArb).map(([d, [lead, name, [rest, cut], body, seps, trail]]) => {
  let template = lead + (cut ? name + F : [name + F + MSH2, ...rest].join(F));
  for (const [i, segment] of body.entries()) template += seps[i] + segment;
  template += trail;
  const declared = [d.component, d.repetition, d.escape, d.subcomponent].slice(0, d.declared).join("");
  const by = { [F]: d.field, [C]: d.component, [R]: d.repetition, [E]: d.escape, [S]: d.subcomponent, [MSH2]: declared };
  return template.replace(/[\uE001-\uE006]/g, (ch) => by[ch]);
});

// --- properties ---------------------------------------------------------------------------

test("Rust parse_ack and parseAck agree on every field of generated ACKs", () => {
  fc.assert(fc.property(ackTextArb, assertSame), { numRuns: RUNS });
});

test("the generator reaches accepted ACKs, refusals, ERR entries and batches (it tests something)", () => {
  const samples = fc.sample(ackTextArb, { numRuns: 2000, seed: 42 });
  const results = samples.map(rust);
  const accepted = results.filter((r) => !("error" in r));
  assert.ok(accepted.length > 300, `accepted: ${accepted.length}`);
  assert.ok(results.length - accepted.length > 100, "refusals");
  assert.ok(accepted.filter((r) => r.errors.length > 0).length > 100, "ACKs with ERR entries");
  assert.ok(accepted.filter((r) => r.errors.some((e) => e.location !== null && e.errorCode !== null)).length > 20, "ERR entries with code and location");
  assert.ok(accepted.filter((r) => /^\uFEFF?(BHS|FHS)/.test(r.raw.replace(/^[\r\n]+/, ""))).length > 20, "batches");
});

test("Rust and parseAck agree on what buildAck makes, for every code, exception and version", () => {
  const original = fc.record({
    version: fc.constantFrom("2.3", "2.4", "2.5", "2.5.1", "2.7", ""),
    controlId: fc.stringMatching(/^[A-Z0-9]{1,10}$/),
    field: fc.constantFrom("|", "#"),
  });
  const nakCode = fc.constantFrom("AE", "AR", "CE", "CR");
  const arb = fc.tuple(
    original,
    fc.oneof(fc.constantFrom("AA", "CA", "AE", "AR", "CE", "CR"), fc.tuple(nakCode, fc.option(fc.string({ maxLength: 12 })), fc.option(fc.stringMatching(/^[0-9]{1,3}$/)), fc.option(fc.constantFrom("E", "W", "I")))),
  );
  fc.assert(
    fc.property(arb, ([o, choice]) => {
      const text = `MSH${o.field}^~\\&${o.field}S${o.field}F${o.field}R${o.field}F${o.field}20240101${o.field}${o.field}ADT^A01${o.field}${o.controlId}${o.field}P${o.field}${o.version}\rPID${o.field}1`;
      const exception =
        typeof choice === "string" ? choice : new AckException(choice[1] ?? undefined, { code: choice[0], errorCode: choice[2] ?? undefined, severity: choice[3] ?? undefined });
      const built = buildAck(text, exception);
      assertSame(built);
      const ack = parseAck(built);
      assert.equal(ack.controlId, o.controlId);
      if (typeof choice !== "string") {
        assert.equal(ack.code, choice[0]);
        assert.equal(ack.message, exception.message);
        assert.equal(ack.errorCode, exception.errorCode ?? (choice[0][1] === "E" ? "207" : "200"));
        assert.equal(ack.severity, exception.severity ?? "E");
        assert.equal(ack.errors[0].errorText, exception.message);
      }
    }),
    { numRuns: 500 },
  );
});
