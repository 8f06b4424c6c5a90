"use strict";
const { test } = require("node:test");
const assert = require("node:assert/strict");
const ack = require("../index.cjs");
const wire = require("../wire.cjs");
const {
  ACK_CODES,
  AckException,
  AckApplicationError,
  AckApplicationReject,
  AckCommitError,
  AckCommitReject,
  UnsupportedMessageTypeReject,
  ApplicationInternalError,
  CommitInternalError,
  AckParseError,
  exceptionFromAck,
  parseAck,
} = ack;

const MSH = "MSH|^~\\&|RECV|FAC|SEND|FAC|20240101120000||ACK^A01^ACK|ACK0001|P|2.5";

test("ACK_CODES lists the six MSA-1 codes and is frozen", () => {
  assert.deepEqual([...ACK_CODES], ["AA", "AE", "AR", "CA", "CE", "CR"]);
  assert.ok(Object.isFrozen(ACK_CODES));
});

test("class hierarchy: every class extends AckException and Error", () => {
  const tree = [
    [AckApplicationError, AckException],
    [AckApplicationReject, AckException],
    [AckCommitError, AckException],
    [AckCommitReject, AckException],
    [UnsupportedMessageTypeReject, AckApplicationReject],
    [ApplicationInternalError, AckApplicationError],
    [CommitInternalError, AckCommitError],
  ];
  for (const [Child, Parent] of tree) {
    assert.equal(Object.getPrototypeOf(Child), Parent, `${Child.name} extends ${Parent.name}`);
    const error = new Child();
    assert.ok(error instanceof Child);
    assert.ok(error instanceof Parent);
    assert.ok(error instanceof AckException);
    assert.ok(error instanceof Error);
  }
  assert.equal(Object.getPrototypeOf(AckException), Error);
});

test("siblings are not instances of each other", () => {
  assert.ok(!(new AckApplicationError() instanceof AckApplicationReject));
  assert.ok(!(new AckApplicationReject() instanceof AckApplicationError));
  assert.ok(!(new AckCommitError() instanceof AckCommitReject));
  assert.ok(!(new AckCommitReject() instanceof AckApplicationError));
  assert.ok(!(new ApplicationInternalError() instanceof AckCommitError));
  assert.ok(!(new CommitInternalError() instanceof AckApplicationError));
  assert.ok(!(new AckApplicationError() instanceof ApplicationInternalError));
});

test("static and instance code, name, default message per class", () => {
  const expected = [
    [AckApplicationError, "AE", "Application error (AE)", undefined],
    [AckApplicationReject, "AR", "Application reject (AR)", undefined],
    [AckCommitError, "CE", "Commit error (CE)", undefined],
    [AckCommitReject, "CR", "Commit reject (CR)", undefined],
    [UnsupportedMessageTypeReject, "AR", "Application reject (AR)", "200"],
    [ApplicationInternalError, "AE", "Application error (AE)", "207"],
    [CommitInternalError, "CE", "Commit error (CE)", "207"],
  ];
  for (const [Class, code, message, errorCode] of expected) {
    assert.equal(Class.code, code, `${Class.name}.code`);
    const error = new Class();
    assert.equal(error.code, code);
    assert.equal(error.name, Class.name);
    assert.equal(error.message, message);
    assert.equal(error.errorCode, errorCode);
    assert.deepEqual(error.errors, []);
    assert.equal(String(error), `${Class.name}: ${message}`);
    assert.ok(typeof error.stack === "string" && error.stack.includes(Class.name));
  }
});

test("constructor: message and fields", () => {
  const errors = [{ errorCode: "204", errorText: "Unknown key", severity: "E", location: "PID^1^3" }];
  const error = new AckApplicationError("Patient not found", {
    errorCode: "204",
    severity: "E",
    raw: "MSH|...",
    controlId: "MSG1",
    errors,
  });
  assert.equal(error.code, "AE");
  assert.equal(error.message, "Patient not found");
  assert.equal(error.errorCode, "204");
  assert.equal(error.severity, "E");
  assert.equal(error.raw, "MSH|...");
  assert.equal(error.controlId, "MSG1");
  assert.equal(error.ack, undefined);
  assert.equal(error.errors, errors);
  assert.ok(error instanceof AckException);
  assert.equal(Object.keys(error).includes("name"), false, "name is not an enumerable own property");
});

test("empty or missing message falls back to the default text", () => {
  assert.equal(new AckCommitReject("").message, "Commit reject (CR)");
  assert.equal(new AckCommitReject(undefined, { errorCode: "1" }).message, "Commit reject (CR)");
  assert.equal(new AckException(undefined, { code: "AR" }).message, "Application reject (AR)");
  assert.equal(typeof new AckException().message, "string");
  assert.ok(new AckException().message.length > 0);
});

test("AckException constructed directly takes its code from fields.code", () => {
  const error = new AckException("Queue full", { code: "CE", errorCode: "207" });
  assert.equal(error.code, "CE");
  assert.equal(error.name, "AckException");
  assert.equal(error.errorCode, "207");
  assert.equal(new AckException("x").code, undefined);
});

test("subclasses fix their code whatever fields.code says", () => {
  assert.equal(new AckApplicationError("x", { code: "AR" }).code, "AE");
  assert.equal(new UnsupportedMessageTypeReject("x", { code: "AE" }).code, "AR");
});

test("convenience subclasses: default errorCode can be overridden", () => {
  assert.equal(new UnsupportedMessageTypeReject("nope").errorCode, "200");
  assert.equal(new UnsupportedMessageTypeReject("nope", { errorCode: "201" }).errorCode, "201");
  assert.equal(new ApplicationInternalError("boom", { severity: "F" }).errorCode, "207");
  assert.equal(new ApplicationInternalError("boom", { severity: "F" }).severity, "F");
  assert.equal(new CommitInternalError().errorCode, "207");
});

test("cause is passed to Error", () => {
  const cause = new Error("db down");
  assert.equal(new ApplicationInternalError("boom", { cause }).cause, cause);
});

test("a user subclass gets its own name", () => {
  class PatientNotFound extends AckApplicationError {}
  const error = new PatientNotFound("Patient 42 not found", { errorCode: "204" });
  assert.equal(error.name, "PatientNotFound");
  assert.equal(error.code, "AE");
  assert.ok(error instanceof AckApplicationError);
});

test("exceptionFromAck returns null for AA and CA", () => {
  assert.equal(exceptionFromAck(parseAck(`${MSH}\rMSA|AA|1`)), null);
  assert.equal(exceptionFromAck(parseAck(`${MSH}\rMSA|CA|1`)), null);
});

test("exceptionFromAck picks the class by MSA-1", () => {
  const cases = [
    ["AE", AckApplicationError],
    ["AR", AckApplicationReject],
    ["CE", AckCommitError],
    ["CR", AckCommitReject],
  ];
  for (const [code, Class] of cases) {
    const error = exceptionFromAck(parseAck(`${MSH}\rMSA|${code}|MSG1|Some reason\rERR|||204^Unknown^HL70357|W`));
    assert.equal(error.constructor, Class, code);
    assert.equal(error.code, code);
    assert.equal(error.message, "Some reason");
    assert.equal(error.errorCode, "204");
    assert.equal(error.severity, "W");
  }
});

test("exceptionFromAck picks the most specific class (table 0357)", () => {
  const pick = (code, errorCode) =>
    exceptionFromAck(parseAck(`${MSH}\rMSA|${code}|MSG1\rERR|||${errorCode}^Text^HL70357|E`)).constructor;
  assert.equal(pick("AR", "200"), UnsupportedMessageTypeReject);
  assert.equal(pick("AE", "207"), ApplicationInternalError);
  assert.equal(pick("CE", "207"), CommitInternalError);
  // the code must match the MSA-1 too
  assert.equal(pick("AE", "200"), AckApplicationError);
  assert.equal(pick("AR", "207"), AckApplicationReject);
  assert.equal(pick("CR", "207"), AckCommitReject);
  assert.equal(pick("CE", "200"), AckCommitError);
  // v2.3 ELD error code works the same way
  const v23 = parseAck("MSH|^~\\&|R|F|S|F|20240101||ACK|1|P|2.3\rMSA|AE|MSG1\rERR|^^^207&Internal&HL70357");
  assert.ok(exceptionFromAck(v23) instanceof ApplicationInternalError);
});

test("exceptionFromAck carries every field of the Ack", () => {
  const raw = `${MSH}\rMSA|AE|MSG1|Patient not found\rERR||PID^1^3|204^Unknown key^HL70357|E\rERR|||103^Table^HL70357|W`;
  const parsed = parseAck(raw);
  const error = exceptionFromAck(parsed);
  assert.equal(error.message, "Patient not found");
  assert.equal(error.code, "AE");
  assert.equal(error.errorCode, "204");
  assert.equal(error.severity, "E");
  assert.equal(error.raw, raw);
  assert.equal(error.controlId, "MSG1");
  assert.equal(error.ack, parsed);
  assert.equal(error.errors.length, 2);
  assert.equal(error.errors[1].errorCode, "103");
});

test("exceptionFromAck uses the default text when MSA-3 is absent", () => {
  assert.equal(exceptionFromAck(parseAck(`${MSH}\rMSA|AR|MSG1`)).message, "Application reject (AR)");
  assert.equal(exceptionFromAck(parseAck(`${MSH}\rMSA|CE|MSG1`)).message, "Commit error (CE)");
  const error = exceptionFromAck(parseAck(`${MSH}\rMSA|AE|MSG1`));
  assert.equal(error.message, "Application error (AE)");
  assert.equal(error.errorCode, undefined);
  assert.deepEqual(error.errors, []);
});

test("exceptionFromAck rejects what is not an Ack", () => {
  assert.throws(() => exceptionFromAck(null), TypeError);
  assert.throws(() => exceptionFromAck("AE"), TypeError);
  assert.throws(() => exceptionFromAck({ code: "XX" }), TypeError);
});

test("AckParseError: class, code, message naming the rule", () => {
  assert.throws(() => parseAck(`${MSH}\r`), (error) => {
    assert.ok(error instanceof AckParseError);
    assert.ok(error instanceof Error);
    assert.ok(!(error instanceof AckException));
    assert.equal(error.name, "AckParseError");
    assert.equal(error.code, "MALFORMED_ACK");
    assert.match(error.message, /MSA/);
    return true;
  });
  assert.throws(() => parseAck("PID|1"), /MSH/);
  assert.throws(() => parseAck(`${MSH}\rMSA|XX|1`), /MSA-1/);
  assert.throws(() => parseAck(42), TypeError);
});

test("require() and import() yield the very same class objects (index)", async () => {
  const esm = await import("../index.mjs");
  assert.deepEqual(Object.keys(esm).sort(), Object.keys(ack).sort(), "same export names");
  for (const [name, value] of Object.entries(ack)) {
    assert.equal(esm[name], value, `${name} is the same object`);
  }
  const error = new esm.ApplicationInternalError("x");
  assert.ok(error instanceof ack.AckApplicationError);
  assert.ok(error instanceof ack.AckException);
});

test("require() and import() yield the very same objects (wire)", async () => {
  const esm = await import("../wire.mjs");
  assert.deepEqual(Object.keys(esm).sort(), Object.keys(wire).sort());
  for (const [name, value] of Object.entries(wire)) assert.equal(esm[name], value, name);
});

test("package.json exports map points at the files that share one definition", async () => {
  const pkg = require("../package.json");
  assert.equal(pkg.name, "@glion/ack");
  assert.equal(pkg.type, "commonjs");
  assert.deepEqual(pkg.dependencies, undefined);
  for (const [entry, base] of [[".", "index"], ["./wire", "wire"]]) {
    const target = pkg.exports[entry];
    assert.deepEqual(Object.keys(target), ["types", "import", "require"], "types first");
    assert.equal(target.types, `./${base}.d.ts`);
    assert.equal(target.import, `./${base}.mjs`);
    assert.equal(target.require, `./${base}.cjs`);
    const cjs = require(`.${target.require}`); // "./index.cjs" -> "../index.cjs"
    const esm = await import(`.${target.import}`);
    for (const name of Object.keys(cjs)) assert.equal(esm[name], cjs[name], `${entry} ${name}`);
    for (const file of [target.types, target.import, target.require]) {
      assert.ok(pkg.files.includes(file.slice(2)), `${file} is in files`);
    }
  }
  assert.equal(pkg.exports["./package.json"], "./package.json");
});
