"use strict";
const { test } = require("node:test");
const assert = require("node:assert/strict");
const {
  buildAck,
  parseAck,
  exceptionFromAck,
  escapeHl7,
  unescapeHl7,
  AckException,
  AckApplicationError,
  AckApplicationReject,
  AckCommitReject,
  UnsupportedMessageTypeReject,
  ApplicationInternalError,
  CommitInternalError,
} = require("../index.cjs");

const V25 =
  "MSH|^~\\&|SENDAPP|SENDFAC|RECVAPP|RECVFAC|20240101120000||ADT^A01^ADT_A01|MSG00001|P|2.5\r" +
  "EVN|A01|20240101120000\rPID|1||123^^^HOSP^MR||Doe^John\r";
const V23 =
  "MSH|^~\\&|SENDAPP|SENDFAC|RECVAPP|RECVFAC|20240101120000||ADT^A04|MSG00002|P|2.3\r" +
  "EVN|A04|20240101120000\rPID|1||123||Doe^John\r";
const WHEN = new Date(2024, 4, 6, 7, 8, 9); // local time 2024-05-06 07:08:09
const STAMP = "20240506070809";

test("AA for a v2.5 message: exact text", () => {
  const text = buildAck(V25, "AA", { controlId: "ACK00001", timestamp: WHEN });
  assert.equal(
    text,
    `MSH|^~\\&|RECVAPP|RECVFAC|SENDAPP|SENDFAC|${STAMP}||ACK^A01^ACK|ACK00001|P|2.5\rMSA|AA|MSG00001`,
  );
  assert.ok(!text.endsWith("\r"), "no trailing CR");
  assert.ok(!text.includes("\x0b") && !text.includes("\x1c"), "no MLLP framing");
});

test("AA with a text and CA", () => {
  assert.equal(
    buildAck(V25, "AA", { controlId: "A1", timestamp: STAMP, text: "Accepted" }).split("\r")[1],
    "MSA|AA|MSG00001|Accepted",
  );
  assert.equal(buildAck(V25, "CA", { controlId: "A1", timestamp: STAMP }).split("\r")[1], "MSA|CA|MSG00001");
});

test("AE from an exception for v2.5: MSA-3 and ERR-2/3/4", () => {
  const error = new AckApplicationError("Patient not found", { errorCode: "204", severity: "E" });
  const text = buildAck(V25, error, { controlId: "ACK00002", timestamp: WHEN, location: "PID^1^3" });
  assert.equal(
    text,
    `MSH|^~\\&|RECVAPP|RECVFAC|SENDAPP|SENDFAC|${STAMP}||ACK^A01^ACK|ACK00002|P|2.5\r` +
      "MSA|AE|MSG00001|Patient not found\r" +
      "ERR||PID^1^3|204^Patient not found^HL70357|E",
  );
});

test("v2.5 ERR: severity defaults to E, location empty", () => {
  const text = buildAck(V25, new AckApplicationReject("Bad", { errorCode: "201" }), { controlId: "A", timestamp: STAMP });
  assert.equal(text.split("\r")[2], "ERR|||201^Bad^HL70357|E");
  const warn = buildAck(V25, "AE", { controlId: "A", timestamp: STAMP, errorCode: "103", severity: "W", text: "Odd" });
  assert.equal(warn.split("\r")[2], "ERR|||103^Odd^HL70357|W");
});

test("v2.3 ERR uses the ELD form ERR-1", () => {
  const error = new AckApplicationError("Patient not found", { errorCode: "204", severity: "E" });
  const text = buildAck(V23, error, { controlId: "ACK00003", timestamp: WHEN });
  assert.equal(
    text,
    `MSH|^~\\&|RECVAPP|RECVFAC|SENDAPP|SENDFAC|${STAMP}||ACK^A04^ACK|ACK00003|P|2.3\r` +
      "MSA|AE|MSG00002|Patient not found\r" +
      "ERR|^^^204&Patient not found&HL70357|||E",
  );
  const located = buildAck(V23, error, { controlId: "A", timestamp: STAMP, location: "PID^1^3" });
  assert.equal(located.split("\r")[2], "ERR|PID^1^3^204&Patient not found&HL70357|||E");
});

test("version is compared numerically from MSH-12.1", () => {
  const withVersion = (version) => V25.replace("|P|2.5\r", `|P|${version}\r`);
  const err = (version) =>
    buildAck(withVersion(version), "AE", { controlId: "A", timestamp: STAMP, errorCode: "207", text: "x" }).split("\r")[2];
  assert.equal(err("2.4"), "ERR|^^^207&x&HL70357|||E");
  assert.equal(err("2.2"), "ERR|^^^207&x&HL70357|||E");
  assert.equal(err("2.5.1"), "ERR|||207^x^HL70357|E");
  assert.equal(err("2.8"), "ERR|||207^x^HL70357|E");
  assert.equal(err("2.10"), "ERR|||207^x^HL70357|E");
  assert.equal(err("2.3.1^USA"), "ERR|^^^207&x&HL70357|||E");
});

test("every NAK has an ERR segment: without an error code, HL7 0357 207 for AE/CE and 200 for AR/CR", () => {
  const text = buildAck(V25, new AckCommitReject("Queue full"), { controlId: "A", timestamp: STAMP });
  assert.deepEqual(text.split("\r").slice(1), ["MSA|CR|MSG00001|Queue full", "ERR|||200^Queue full^HL70357|E"]);
  const plain = buildAck(V25, "AR", { controlId: "A", timestamp: STAMP });
  assert.deepEqual(plain.split("\r").slice(1), ["MSA|AR|MSG00001", "ERR|||200^Unsupported message type^HL70357|E"]);
  const ae = buildAck(V25, new AckApplicationError("Nope"), { controlId: "A", timestamp: STAMP });
  assert.deepEqual(ae.split("\r").slice(1), ["MSA|AE|MSG00001|Nope", "ERR|||207^Nope^HL70357|E"]);
  const ce = buildAck(V23, "CE", { controlId: "A", timestamp: STAMP });
  assert.deepEqual(ce.split("\r").slice(2), ["ERR|^^^207&Application internal error&HL70357|||E"]);
  const empty = buildAck(V25, "AE", { controlId: "A", timestamp: STAMP, errorCode: "" });
  assert.equal(empty.split("\r")[2], "ERR|||207^Application internal error^HL70357|E");
  for (const code of ["AE", "AR", "CE", "CR"]) {
    const parsed = parseAck(buildAck(V25, code));
    assert.equal(parsed.errors.length, 1, code);
    assert.equal(parsed.errorCode, code[1] === "E" ? "207" : "200", code);
    assert.equal(parsed.severity, "E", code);
  }
});

test("AA never gets an ERR segment, even with an errorCode option", () => {
  const text = buildAck(V25, "AA", { controlId: "A", timestamp: STAMP, errorCode: "207" });
  assert.equal(text.split("\r").length, 2);
});

test("convenience subclasses put their table 0357 code in ERR", () => {
  const text = buildAck(V25, new ApplicationInternalError("Database unavailable"), { controlId: "A", timestamp: STAMP });
  assert.equal(text.split("\r")[2], "ERR|||207^Database unavailable^HL70357|E");
  const back = exceptionFromAck(parseAck(text));
  assert.ok(back instanceof ApplicationInternalError);
  assert.equal(back.message, "Database unavailable");
  const reject = exceptionFromAck(parseAck(buildAck(V25, new UnsupportedMessageTypeReject(), { timestamp: STAMP })));
  assert.ok(reject instanceof UnsupportedMessageTypeReject);
  const commit = exceptionFromAck(parseAck(buildAck(V25, new CommitInternalError("disk"), { timestamp: STAMP })));
  assert.ok(commit instanceof CommitInternalError);
  assert.equal(commit.code, "CE");
});

test("custom delimiters are used for the whole ACK, escapes included", () => {
  const original = "MSH#*!@%#SEND#SFAC#RECV#RFAC#20240101120000##ORU*R01*ORU_R01#CTRL9#P#2.5.1\rOBX#1";
  const error = new UnsupportedMessageTypeReject("Type # not * supported");
  const text = buildAck(original, error, { controlId: "A1", timestamp: STAMP });
  assert.equal(
    text,
    `MSH#*!@%#RECV#RFAC#SEND#SFAC#${STAMP}##ACK*R01*ACK#A1#P#2.5.1\r` +
      "MSA#AR#CTRL9#Type @F@ not @S@ supported\r" +
      "ERR###200*Type @F@ not @S@ supported*HL70357#E",
  );
  const parsed = parseAck(text);
  assert.equal(parsed.message, "Type # not * supported");
  assert.equal(parsed.errors[0].errorText, "Type # not * supported");
  assert.equal(parsed.errorCode, "200");
  assert.equal(parsed.controlId, "CTRL9");
});

test("custom delimiters, v2.3 ELD uses the custom subcomponent separator", () => {
  const original = "MSH#*!@%#SEND#SFAC#RECV#RFAC#20240101120000##ADT*A01#C1#P#2.3";
  const text = buildAck(original, "AE", { controlId: "A1", timestamp: STAMP, errorCode: "103", text: "a%b" });
  assert.equal(text.split("\r")[2], "ERR#***103%a@T@b%HL70357###E");
  const parsed = parseAck(text);
  assert.equal(parsed.errors[0].errorText, "a%b");
  assert.equal(parsed.errorCode, "103");
});

test("| and the other delimiters in the text are escaped and parse back", () => {
  const message = "A|B^C~D&E\\F";
  const text = buildAck(V25, new AckApplicationError(message, { errorCode: "207" }), { controlId: "A", timestamp: STAMP });
  const msa = text.split("\r")[1];
  assert.equal(msa, "MSA|AE|MSG00001|A\\F\\B\\S\\C\\R\\D\\T\\E\\E\\F");
  assert.equal(msa.split("|").length, 4, "the | in the text does not add a field");
  const parsed = parseAck(text);
  assert.equal(parsed.message, message);
  assert.equal(parsed.errors[0].errorText, message);
});

test("CR and LF in the text cannot break the segment structure", () => {
  const text = buildAck(V25, "AE", { controlId: "A", timestamp: STAMP, text: "line 1\r\nline 2", errorCode: "207" });
  assert.equal(text.split("\r").length, 3);
  assert.equal(parseAck(text).message, "line 1\r\nline 2");
});

function roundTrip(original, version) {
  const cases = [
    ["AA", undefined],
    ["CA", undefined],
    [new AckApplicationError("Patient not found", { errorCode: "204", severity: "E" })],
    [new AckApplicationReject("Unsupported version", { errorCode: "203", severity: "E" })],
    [new UnsupportedMessageTypeReject("No ORU here")],
    [new AckCommitReject("Queue full")],
    [new ApplicationInternalError("Boom é ü", { severity: "F" })],
    [new CommitInternalError("Disk | full", { severity: "W" })],
  ];
  for (const [codeOrException] of cases) {
    const text = buildAck(original, codeOrException, { controlId: "ACKRT", timestamp: WHEN });
    const parsed = parseAck(text);
    const label = `${version} ${typeof codeOrException === "string" ? codeOrException : codeOrException.name}`;
    if (typeof codeOrException === "string") {
      assert.equal(parsed.code, codeOrException, label);
      assert.equal(parsed.message, undefined, label);
      assert.equal(parsed.errorCode, undefined, label);
      assert.equal(parsed.severity, undefined, label);
    } else {
      const e = codeOrException;
      assert.equal(parsed.code, e.code, label);
      assert.equal(parsed.message, e.message, label);
      // without one, buildAck writes HL7 0357's generic code (207 for AE/CE, 200 for AR/CR)
      assert.equal(parsed.errorCode, e.errorCode ?? (e.code[1] === "E" ? "207" : "200"), label);
      // v2.3/2.4 get ERR-4 too, so the severity survives in every version
      assert.equal(parsed.severity, e.severity ?? "E", label);
      assert.equal(parsed.errors[0].errorText, e.message, label);
      const back = exceptionFromAck(parsed);
      assert.equal(back.constructor, e.constructor, label);
      assert.equal(back.message, e.message, label);
    }
    assert.equal(parsed.controlId, original.split("\r")[0].split("|")[9], label);
    assert.equal(parsed.raw, text);
  }
}

test("round trip through parseAck, v2.5", () => roundTrip(V25, "2.5"));
test("round trip through parseAck, v2.3", () => roundTrip(V23, "2.3"));

test("generated control ids are unique, start with ACK and fit in 20 chars", () => {
  const ids = new Set();
  for (let i = 0; i < 2000; i++) {
    const id = buildAck(V25, "AA").split("\r")[0].split("|")[9];
    assert.match(id, /^ACK[0-9A-Z]+$/);
    assert.ok(id.length <= 20, id);
    ids.add(id);
  }
  assert.equal(ids.size, 2000);
});

test("default timestamp is the current local time as YYYYMMDDHHMMSS", () => {
  const before = Date.now();
  const stamp = buildAck(V25, "AA").split("\r")[0].split("|")[6];
  assert.match(stamp, /^\d{14}$/);
  const parsed = new Date(
    Number(stamp.slice(0, 4)), Number(stamp.slice(4, 6)) - 1, Number(stamp.slice(6, 8)),
    Number(stamp.slice(8, 10)), Number(stamp.slice(10, 12)), Number(stamp.slice(12, 14)),
  ).getTime();
  assert.ok(Math.abs(parsed - before) < 5000, `${stamp} is now`);
  assert.equal(buildAck(V25, "AA", { timestamp: "20200101000000+0100" }).split("\r")[0].split("|")[6], "20200101000000+0100");
});

test("MSH-9 without a trigger event is just ACK; MSH-11/12 copied, absent trailing fields dropped", () => {
  const original = "MSH|^~\\&|S|SF|R|RF|20240101||QRY|Q1|T";
  assert.equal(buildAck(original, "AA", { controlId: "A", timestamp: STAMP }), `MSH|^~\\&|R|RF|S|SF|${STAMP}||ACK|A|T\rMSA|AA|Q1`);
  const bare = "MSH|^~\\&|S";
  assert.equal(buildAck(bare, "AA", { controlId: "A", timestamp: STAMP }), `MSH|^~\\&|||S||${STAMP}||ACK|A\rMSA|AA|`);
});

test("HD components in MSH-3..6 are kept when swapped", () => {
  const original = "MSH|^~\\&|APP^1.2.3^ISO|FAC^4.5^ISO|RAPP|RFAC|20240101||ORM^O01|C7|P|2.5.1";
  const header = buildAck(original, "AA", { controlId: "A", timestamp: STAMP }).split("\r")[0];
  assert.equal(header, `MSH|^~\\&|RAPP|RFAC|APP^1.2.3^ISO|FAC^4.5^ISO|${STAMP}||ACK^O01^ACK|A|P|2.5.1`);
});

test("original given as bytes, with LF separators, or with only 2 encoding characters", () => {
  const bytes = new TextEncoder().encode(V25.replace(/\r/g, "\n"));
  const text = buildAck(bytes, "AA", { controlId: "A", timestamp: STAMP });
  assert.equal(text, buildAck(V25, "AA", { controlId: "A", timestamp: STAMP }));
  const latin1 = Uint8Array.from("MSH|^~\\&|S\xe9|F|R|F|2024||ADT^A01|C1|P|2.5", (c) => c.charCodeAt(0));
  assert.equal(buildAck(latin1, "AA", { controlId: "A", timestamp: STAMP, encoding: "latin1" }).split("|")[4], "S\u00e9");
  const two = buildAck("MSH|^~|S|F|R|F|2024||ADT^A01|C1|P|2.3", "AE", { controlId: "A", timestamp: STAMP, errorCode: "207", text: "a&b" });
  assert.equal(two.split("\r")[2], "ERR|^^^207&a\\T\\b&HL70357|||E");
  assert.equal(parseAck(two).errors[0].errorText, "a&b");
});

test("TypeError on an original that does not start with MSH", () => {
  for (const bad of ["", "PID|1||123", " MSH|^~\\&|S", "\rMSH|^~\\&|S", "MSH", "FHS|^~\\&|S", "msh|^~\\&|S"]) {
    assert.throws(() => buildAck(bad, "AA"), TypeError, JSON.stringify(bad));
  }
  assert.throws(() => buildAck(undefined, "AA"), TypeError);
  assert.throws(() => buildAck(42, "AA"), TypeError);
  assert.throws(() => buildAck(new Uint8Array(0), "AA"), TypeError);
});

test("TypeError on a bad code", () => {
  assert.throws(() => buildAck(V25, "XX"), TypeError);
  assert.throws(() => buildAck(V25, "aa"), TypeError);
  assert.throws(() => buildAck(V25, new Error("plain")), TypeError);
  assert.throws(() => buildAck(V25, new AckException("no code")), TypeError);
  assert.throws(() => buildAck(V25, "AA", { timestamp: new Date(NaN) }), TypeError);
});

test("escapeHl7 / unescapeHl7 round trip with default and custom delimiters", () => {
  const custom = { field: "#", component: "*", repetition: "!", escape: "@", subcomponent: "%" };
  for (const delimiters of [undefined, custom]) {
    for (const text of ["plain", "a|b^c~d&e\\f", "#*!@%", "\\F\\ literal", "é\r\nü", ""]) {
      assert.equal(unescapeHl7(escapeHl7(text, delimiters), delimiters), text);
    }
  }
  assert.equal(escapeHl7("a|b"), "a\\F\\b");
  assert.equal(escapeHl7("a#b@c", custom), "a@F@b@E@c");
  assert.equal(unescapeHl7("a\\F\\b"), "a|b");
  assert.equal(unescapeHl7("x\\X41\\y\\Z\\"), "xAy\\Z\\");
});
