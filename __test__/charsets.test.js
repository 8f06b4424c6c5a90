"use strict";
// Character sets (README "Character sets"): every charset family goes through a node:net
// receiver that checks the exact bytes on the wire (the expected bytes are written out here,
// from the published code tables, not computed by the code under test) and answers in the
// same charset; "auto" with and without MSH-18 and with repetitions; unencodable characters
// and unknown names refused before any socket opens; the ACK decoded by its own MSH-18; the
// JS label table (ack/charsets.cjs) agrees with the Rust one (src/charset.rs) on every name.
// Runs on both I/O paths (scripts/test.js: TOKIO_AGAIN).

const test = require("node:test");
const assert = require("node:assert/strict");
const native = require("../binding.cjs");
const { parseAck } = require("@glion/ack");
const { resolveEncoding, decodeText, prepareMessage } = require("@glion/ack/wire");
const { MllpClient, MllpClientError } = require("../index.cjs");
const { startTestReceiver } = require("../lib/testing.cjs");
const { withReceiver, clientFor, frame, transportError } = require("./helpers.js");

const hex = (s) => Buffer.from(s.replace(/\s+/g, ""), "hex");
const ascii = (s) => Buffer.from(s, "latin1");

/** MSH with MSH-10 = `id` and MSH-18 = `msh18` (empty: none). */
const header = (id, msh18 = "") => `MSH|^~\\&|SND|FAC|RCV|FAC|20260510120000||ADT^A01^ADT_A01|${id}|P|2.5||||||${msh18}`;

/**
 * A receiver that records the bytes of every frame and answers with `answer(frameBytes)`
 * (the ACK's bytes, unframed). `rx.frames` holds each frame's content.
 */
async function bytesReceiver(answer, body) {
  const frames = [];
  return withReceiver(
    (socket) => {
      let pending = Buffer.alloc(0);
      socket.on("data", (chunk) => {
        pending = Buffer.concat([pending, chunk]);
        const end = pending.indexOf(Buffer.from([0x1c, 0x0d]));
        if (pending[0] !== 0x0b || end === -1) return;
        const content = pending.subarray(1, end);
        frames.push(content);
        socket.end(frame(answer(content)));
      });
    },
    (rx) => body(rx, frames),
  );
}

/** An ACK (bytes) for a message whose MSH-10 is ASCII `id`: MSA-3 = `text` bytes. */
const ackBytes = (id, textBytes, msh18 = "") =>
  Buffer.concat([ascii(`MSH|^~\\&|RCV|FAC|SND|FAC|20260510120001||ACK^A01^ACK|A${id}|P|2.5${msh18 ? `||||||${msh18}` : ""}\rMSA|AA|${id}|`), textBytes]);

// [encoding option, patient name, its bytes in that charset]
const FAMILIES = [
  ["latin1", "MÜLLER^JOSÉ", "4d dc 4c 4c 45 52 5e 4a 4f 53 c9"],
  ["8859/1", "MÜLLER^JOSÉ", "4d dc 4c 4c 45 52 5e 4a 4f 53 c9"],
  ["iso-8859-2", "Łódź", "a3 f3 64 bc"],
  ["8859/2", "Łódź", "a3 f3 64 bc"],
  ["8859/15", "€Œ", "a4 bc"],
  ["windows-1252", "€Š", "80 8a"],
  ["shift_jis", "ヤマダ", "83 84 83 7d 83 5f"],
  ["ISO IR87", "山田", "1b 24 42 3b 33 45 44 1b 28 42"],
  ["GB 18030-2000", "张伟", "d5 c5 ce b0"],
  ["gb18030", "张伟", "d5 c5 ce b0"],
  ["BIG-5", "陳大文", "b3 af a4 6a a4 e5"],
  ["KS X 1001", "김민준", "b1 e8 b9 ce c1 d8"],
  ["euc-kr", "김민준", "b1 e8 b9 ce c1 d8"],
  ["utf8", "Müller", "4d c3 bc 6c 6c 65 72"],
  ["UNICODE UTF-8", "Müller", "4d c3 bc 6c 6c 65 72"],
];

test("every charset family: the exact bytes on the wire, and the ACK's MSA-3 decoded in the same charset", async () => {
  for (const [encoding, name, nameHex] of FAMILIES) {
    const id = `C${encoding.replace(/\W/g, "")}`;
    const nameBytes = hex(nameHex);
    await bytesReceiver(
      (content) => ackBytes(id, content.subarray(content.lastIndexOf(0x7c) + 1)), // MSA-3 = PID-5 as received
      async (rx, frames) => {
        const ack = await clientFor(rx, { encoding }).send(`${header(id)}\rPID|1||P1||${name}`);
        const expected = Buffer.concat([ascii(`${header(id)}\rPID|1||P1||`), nameBytes]);
        assert.deepEqual(frames[0], expected, `${encoding}: the bytes on the wire`);
        assert.equal(ack.message, name, `${encoding}: the ACK decoded with the same charset`);
        assert.equal(ack.controlId, id);
      },
    );
  }
});

test("a control id (MSH-10) that is not ASCII matches its echo in every charset", async () => {
  for (const [encoding, name] of [["shift_jis", "ヤマダ"], ["ISO IR87", "山田"], ["BIG-5", "陳大文"], ["8859/2", "Łódź"]]) {
    await bytesReceiver(
      (content) => {
        const msh = content.subarray(0, content.indexOf(0x0d));
        return Buffer.concat([ascii("MSH|^~\\&|||||||ACK|X|P|2.5\rMSA|AA|"), msh.subarray(nthIndex(msh, 0x7c, 9) + 1, nthIndex(msh, 0x7c, 10))]);
      },
      async (rx) => {
        const ack = await clientFor(rx, { encoding }).send(`${header(`${name}1`)}\rPID|1`);
        assert.equal(ack.controlId, `${name}1`, encoding);
      },
    );
  }
});

function nthIndex(bytes, byte, n) {
  let at = -1;
  for (let i = 0; i < n; i++) at = bytes.indexOf(byte, at + 1);
  return at;
}

test('"auto": MSH-18 chooses the bytes (first repetition); none means UTF-8; bytes are sent as given', async () => {
  const cases = [
    ["", "Müller", "4d c3 bc 6c 6c 65 72"],
    ["8859/1", "Müller", "4d fc 6c 6c 65 72"],
    ["UNICODE UTF-8", "Müller", "4d c3 bc 6c 6c 65 72"],
    ["8859/15~ISO IR87", "€Œ", "a4 bc"],
    ["~ISO IR87", "山田", "1b 24 42 3b 33 45 44 1b 28 42"],
    ["ISO IR6~ISO IR87", "山田", "1b 24 42 3b 33 45 44 1b 28 42"],
    ["windows-1252", "€", "80"],
    ["GB 18030-2000", "张伟", "d5 c5 ce b0"],
  ];
  for (const [msh18, name, nameHex] of cases) {
    await bytesReceiver(
      () => ascii("MSH|^~\\&|||||||ACK|X|P|2.5\rMSA|AA|AUTO"),
      async (rx, frames) => {
        const text = `${header("AUTO", msh18)}\rPID|1||P1||${name}`;
        await clientFor(rx, { encoding: "auto" }).send(text);
        assert.deepEqual(frames[0], Buffer.concat([ascii(`${header("AUTO", msh18)}\rPID|1||P1||`), hex(nameHex)]), `MSH-18 ${JSON.stringify(msh18)}`);
      },
    );
  }
  // Bytes are sent as they are: MSH-18 only says how to read MSH-10 and the ACK.
  const given = Buffer.concat([ascii(`${header("BYTES", "8859/1")}\rPID|1||P1||M`), hex("fc 6c 6c 65 72")]);
  await bytesReceiver(
    () => Buffer.concat([ascii("MSH|^~\\&|||||||ACK|X|P|2.5\rMSA|AA|BYTES|"), hex("fc")]),
    async (rx, frames) => {
      const ack = await clientFor(rx, { encoding: "auto" }).send(given);
      assert.deepEqual(frames[0], given);
      assert.equal(ack.message, "ü", "no MSH-18 in the ACK: the message's charset");
    },
  );
});

test("the ACK is decoded by its own MSH-18 under auto, else with the message's charset", async () => {
  const cases = [
    // [message MSH-18, ACK MSH-18, ACK MSA-3 bytes, expected text]
    ["8859/1", "UNICODE UTF-8", "c3 bc", "ü"],
    ["8859/1", "", "fc", "ü"],
    ["", "8859/1", "fc", "ü"],
    ["", "", "c3 bc", "ü"],
    ["shift_jis", "ISO IR87", "1b 24 42 3b 33 45 44 1b 28 42", "山田"],
    ["8859/1", "no such charset", "fc", "ü"],
  ];
  for (const [messageCharset, ackCharset, textHex, expected] of cases) {
    await bytesReceiver(
      () => ackBytes("ACKD", hex(textHex), ackCharset),
      async (rx) => {
        const ack = await clientFor(rx, { encoding: "auto" }).send(`${header("ACKD", messageCharset)}\rPID|1`);
        assert.equal(ack.message, expected, `message ${messageCharset}, ACK ${ackCharset}`);
      },
    );
  }
  // A fixed encoding decodes every ACK with it, whatever the ACK's MSH-18 says.
  await bytesReceiver(
    () => ackBytes("FIX", hex("fc"), "UNICODE UTF-8"),
    async (rx) => {
      const ack = await clientFor(rx, { encoding: "latin1" }).send(`${header("FIX")}\rPID|1`);
      assert.equal(ack.message, "ü");
    },
  );
});

test("a character the charset cannot encode is INVALID_INPUT naming it, and no connection opens", async () => {
  const cases = [
    ["latin1", "€", /U\+20AC/],
    ["8859/1", "Ā", /U\+0100/],
    ["8859/2", "€", /U\+20AC .*ISO-8859-2/],
    ["shift_jis", "😀", /U\+1F600/],
    ["KS X 1001", "ก", /U\+0E01/],
    ["ascii", "é", /U\+00E9 .*US-ASCII/],
    ["windows-1252", "Ł", /U\+0141/],
  ];
  let connections = 0;
  await withReceiver(
    () => connections++,
    async (rx) => {
      for (const [encoding, char, pattern] of cases) {
        const client = clientFor(rx, { encoding });
        await assert.rejects(client.send(`${header("U")}\rPID|1||P1||A${char}`), (e) => transportError("INVALID_INPUT", false)(e) && pattern.test(e.message));
        const it = client.stream(`${header("U")}\rPID|1||P1||A${char}`)[Symbol.asyncIterator]();
        await assert.rejects(it.next(), transportError("INVALID_INPUT", false));
      }
      // auto: MSH-18 decides, and a name there that cannot be used is refused too.
      const auto = clientFor(rx, { encoding: "auto" });
      await assert.rejects(auto.send(`${header("U", "8859/1")}\rPID|1||€`), (e) => /U\+20AC/.test(e.message) && e.code === "INVALID_INPUT");
      await assert.rejects(auto.send(`${header("U", "KLINGON")}\rPID|1`), (e) => /MSH-18: unknown character set "KLINGON"/.test(e.message));
      await assert.rejects(auto.send(`${header("U", "ISO IR159")}\rPID|1`), (e) => /MSH-18: .*JIS X 0212/.test(e.message));
      await assert.rejects(auto.send(ascii(`${header("U", "utf-16le")}\rPID|1`)), (e) => /begin with ASCII MSH/.test(e.message));
    },
  );
  assert.equal(connections, 0, "no socket opened");
});

test("an unknown or unusable charset name is INVALID_INPUT at construction", () => {
  const refused = [
    ["klingon", /unknown character set "klingon"/],
    ["", /unknown character set ""/],
    ["ISO IR14", /JIS X 0201/],
    ["ISO IR159", /JIS X 0212/],
    ["CNS 11643-1992", /CNS 11643/],
    ["UNICODE", /byte order/],
    ["UNICODE UTF-16", /byte order/],
    ["UNICODE UTF-32", /UTF-32/],
    ["iso-2022-kr", /replacement/],
    [42, /must be a string/],
  ];
  for (const [encoding, pattern] of refused) {
    assert.throws(() => new MllpClient({ host: "127.0.0.1", port: 1, encoding }), (e) => e instanceof MllpClientError && e.code === "INVALID_INPUT" && pattern.test(e.message), String(encoding));
  }
  for (const encoding of ["utf8", "UTF-8", "latin1", "auto", "AUTO", "windows-1252", "sjis", "8859/15", " ISO IR87 ", "utf-16be", "x-user-defined"]) {
    assert.equal(new MllpClient({ host: "127.0.0.1", port: 1, encoding }).options.encoding, encoding);
  }
});

test("UTF-16: the checks apply to the text, the bytes are UTF-16 and the ACK is read as UTF-16", async () => {
  for (const [encoding, little] of [["utf-16le", true], ["utf-16be", false]]) {
    const utf16 = (text) => {
      const b = Buffer.from(text, "utf16le");
      return little ? b : b.swap16();
    };
    await bytesReceiver(
      () => utf16("MSH|^~\\&|||||||ACK|X|P|2.5\rMSA|AA|U16|Grüße"),
      async (rx, frames) => {
        const ack = await clientFor(rx, { encoding }).send(`${header("U16")}\nPID|1||P1||Grüße\n`);
        assert.deepEqual(frames[0], utf16(`${header("U16")}\rPID|1||P1||Grüße\r`), "line ends normalized in the text, then encoded");
        assert.equal(ack.message, "Grüße");
        assert.equal(ack.controlId, "U16");
      },
    );
    await assert.rejects(new MllpClient({ host: "127.0.0.1", port: 1, tls: false, encoding }).send("PID|1"), transportError("INVALID_INPUT", false));
    await assert.rejects(new MllpClient({ host: "127.0.0.1", port: 1, tls: false, encoding }).send("MSH|^~\\&|\x1c"), /0x1C/);
  }
});

test("large strings in charsets other than UTF-8: ASCII as it is, the rest encoded by Rust", async () => {
  const big = "A".repeat(70 * 1024);
  const cases = [
    ["latin1", `${big}é`, Buffer.concat([ascii(big), hex("e9")])],
    ["windows-1252", `${big}€`, Buffer.concat([ascii(big), hex("80")])],
    ["shift_jis", `${big}ヤ`, Buffer.concat([ascii(big), hex("83 84")])],
    ["utf-16le", big, Buffer.from(big, "utf16le")],
  ];
  for (const [encoding, tail, tailBytes] of cases) {
    const ackText = "MSH|^~\\&|||||||ACK|X|P|2.5\rMSA|AA|BIG";
    await bytesReceiver(
      () => (encoding === "utf-16le" ? Buffer.from(ackText, "utf16le") : ascii(ackText)),
      async (rx, frames) => {
        await clientFor(rx, { encoding }).send(`${header("BIG")}\rOBX|1|ED|||${tail}`);
        const head = encoding === "utf-16le" ? Buffer.from(`${header("BIG")}\rOBX|1|ED|||`, "utf16le") : ascii(`${header("BIG")}\rOBX|1|ED|||`);
        assert.ok(frames[0].equals(Buffer.concat([head, tailBytes])), `${encoding}: exact bytes for a large string`);
      },
    );
  }
  await assert.rejects(
    new MllpClient({ host: "127.0.0.1", port: 1, tls: false, encoding: "latin1" }).send(`${header("BIG")}\rOBX|1|ED|||${big}€`),
    (e) => e.code === "INVALID_INPUT" && /U\+20AC/.test(e.message),
  );
  await assert.rejects(
    new MllpClient({ host: "127.0.0.1", port: 1, tls: false, encoding: "ISO IR87" }).send(`${header("BIG")}\rOBX|1|ED|||${big}\x1b`),
    (e) => e.code === "INVALID_INPUT" && /U\+001B/.test(e.message),
  );
});

test("strings of every shape cross napi once and give the bytes Node's own encoders give (src/binding/client.rs utf8_frame)", async () => {
  // One-byte (ASCII, Latin-1) and two-byte strings (a char whose low byte is ASCII: U+0141
  // must not become 0x41), lone and paired surrogates, flat, sliced and concatenated
  // strings, line ends to normalise in place, at sizes around the 64 KiB the JS layer once
  // switched at and up to 1 MiB. Expected bytes come from Buffer.from (Node's encoder).
  const expectUtf8 = (text) => Buffer.from(text.replace(/\r?\n/g, "\r"), "utf8");
  const shapes = {
    ascii: "A",
    latin1: "é",
    twoByte: "\u0141",
    pair: "😀",
    loneHigh: "\ud83d",
    loneLow: "\ude00",
    lfs: "\n",
    crlfs: "\r\n",
  };
  const sizes = [1, 1000, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 1024 * 1024];
  let n = 0;
  for (const [shape, unit] of Object.entries(shapes)) {
    for (const size of sizes) {
      const id = `S${n++}`;
      const head = `${header(id)}\rOBX|1|ED|||`;
      // Concatenated (a rope in V8), then the same text flattened and as a slice of a longer one.
      const rope = head + "B".repeat(size) + unit + "C".repeat(size % 7) + unit;
      const flat = Buffer.from(rope, "utf16le").toString("utf16le");
      const sliced = `xx${flat}yy`.slice(2, -2);
      for (const [form, text] of [["rope", rope], ["flat", flat], ["sliced", sliced]]) {
        if (size !== 1024 * 1024 && form !== "rope" && size !== 1) continue;
        await bytesReceiver(
          () => ascii(`MSH|^~\\&|||||||ACK|X|P|2.5\rMSA|AA|${id}`),
          async (rx, frames) => {
            const ack = await clientFor(rx).send(text);
            assert.equal(ack.controlId, id);
            assert.ok(frames[0].equals(expectUtf8(text)), `utf8 ${shape} ${size} ${form}: exact bytes`);
          },
        );
      }
      // latin1: ASCII goes as it is; é is one byte; what latin1 cannot encode is refused.
      if (size === 1 || size === 64 * 1024) {
        const latin1 = new MllpClient({ host: "127.0.0.1", port: 1, tls: false, encoding: "latin1" });
        if (shape === "twoByte" || shape === "pair" || shape.startsWith("lone")) {
          await assert.rejects(latin1.send(rope), (e) => e.code === "INVALID_INPUT" && /cannot encode/.test(e.message), `${shape} ${size}`);
        } else {
          await bytesReceiver(
            () => ascii(`MSH|^~\\&|||||||ACK|X|P|2.5\rMSA|AA|${id}`),
            async (rx, frames) => {
              await clientFor(rx, { encoding: "latin1" }).send(rope);
              assert.ok(frames[0].equals(Buffer.from(rope.replace(/\r?\n/g, "\r"), "latin1")), `latin1 ${shape} ${size}: exact bytes`);
            },
          );
        }
      }
    }
  }
  // A block byte anywhere, also after in-place shifting, is refused before anything opens.
  const refuse = new MllpClient({ host: "127.0.0.1", port: 1, tls: false });
  for (const text of [`${header("X")}\r\n${"A".repeat(70000)}\x1c\r`, `${header("X")}\n\n\x0b`, "", "PID|1"]) {
    await assert.rejects(refuse.send(text), (e) => e.code === "INVALID_INPUT" && e.sent === false);
  }
});

test("parseAck(bytes, { encoding }) takes the same names", () => {
  const ack = (msh18, tail) => Buffer.concat([ascii(`MSH|^~\\&|||||||ACK|X|P|2.5${msh18 ? `||||||${msh18}` : ""}\rMSA|AE|1|`), tail]);
  assert.equal(parseAck(ack("", hex("c3 bc"))).message, "ü", "UTF-8 by default");
  assert.equal(parseAck(ack("", hex("fc")), { encoding: "latin1" }).message, "ü");
  assert.equal(parseAck(ack("", hex("80")), { encoding: "latin1" }).message, "\u0080", "latin1 is ISO-8859-1, not windows-1252");
  assert.equal(parseAck(ack("", hex("80")), { encoding: "windows-1252" }).message, "€");
  assert.equal(parseAck(ack("", hex("a4")), { encoding: "8859/15" }).message, "€");
  assert.equal(parseAck(ack("", hex("83 84 83 7d 83 5f")), { encoding: "shift_jis" }).message, "ヤマダ");
  assert.equal(parseAck(ack("", hex("1b 24 42 3b 33 45 44 1b 28 42")), { encoding: "ISO IR87" }).message, "山田");
  assert.equal(parseAck(ack("", hex("d5 c5")), { encoding: "GB 18030-2000" }).message, "张");
  assert.equal(parseAck(ack("", hex("b3 af")), { encoding: "BIG-5" }).message, "陳");
  assert.equal(parseAck(ack("", hex("b1 e8")), { encoding: "KS X 1001" }).message, "김");
  assert.equal(parseAck(ack("8859/1", hex("fc")), { encoding: "auto" }).message, "ü", "auto: the ACK's own MSH-18");
  assert.equal(parseAck(ack("", hex("c3 bc")), { encoding: "auto" }).message, "ü", "auto without MSH-18: UTF-8");
  assert.throws(() => parseAck(ack("", hex("fc")), { encoding: "klingon" }), { code: "INVALID_INPUT" });
  assert.equal(parseAck("MSH|^~\\&\rMSA|AA|1").code, "AA", "a string is parsed as before");
});

test("one label table: the JS side (ack/charsets.cjs) and Rust (src/charset.rs) agree on every name", () => {
  const labels = require("node:fs").readFileSync(require.resolve("../ack/charsets.cjs"), "utf8").match(/^ {2}"[^"]+": \[.*\],$/gm).flatMap((line) => JSON.parse(`[${line.slice(line.indexOf("[") + 1, -2)}]`));
  assert.ok(labels.length >= 228, `every WHATWG label: ${labels.length}`);
  const hl7 = ["ASCII", "ISO IR6", "8859/1", "8859/2", "8859/3", "8859/4", "8859/5", "8859/6", "8859/7", "8859/8", "8859/9", "8859/15", "ISO IR14", "ISO IR87", "ISO IR159", "GB 18030-2000", "KS X 1001", "CNS 11643-1992", "BIG-5", "UNICODE", "UNICODE UTF-8", "UNICODE UTF-16", "UNICODE UTF-32"];
  const names = [...labels, ...labels.map((l) => l.toUpperCase()), ...hl7, ...hl7.map((n) => n.toLowerCase()), "utf8", "latin1", "klingon", " utf-8 "];
  const probe = Buffer.from("MSH|");
  for (const name of names) {
    let js, rust;
    try {
      js = resolveEncoding(name);
    } catch (e) {
      js = `error ${e.code}`;
    }
    try {
      rust = native.messageCharset(probe, name);
    } catch (e) {
      rust = `error ${JSON.parse(e.message).code}`;
    }
    assert.equal(js, rust, `${JSON.stringify(name)}: JS ${js}, Rust ${rust}`);
  }
});

test("JS and Rust encode and decode every single-byte charset alike (what Workers sends)", () => {
  const { encodeText } = require("@glion/ack/wire");
  const every = new Uint8Array(256).map((_, i) => i).filter((b) => b !== 0x0b && b !== 0x1c);
  for (const charset of ["ISO-8859-1", "ISO-8859-2", "ISO-8859-9", "ISO-8859-15", "windows-1252", "windows-1250", "KOI8-R", "IBM866", "macintosh", "TIS-620", "windows-874"]) {
    const text = native.charsetDecode(Buffer.from(every), charset);
    assert.equal(decodeText(every, charset), text, `${charset}: decoded alike`);
    const clean = [...text].filter((c) => c !== "\ufffd").join("");
    assert.deepEqual(Buffer.from(encodeText(clean, charset)), native.charsetEncode(clean, charset), `${charset}: encoded alike`);
    assert.equal(prepareMessage(`MSH|^~\\&|${clean}`, charset).charset, charset);
  }
});

test("the test receiver decodes each message by its MSH-18 and answers in the same charset", async () => {
  const rx = await startTestReceiver({ reply: (message) => ({ code: "AE", text: `Unknown ${message.split("||").pop()}` }) });
  try {
    const client = new MllpClient({ host: rx.host, port: rx.port, tls: false, encoding: "auto" });
    for (const [msh18, name] of [["8859/1", "MÜLLER"], ["ISO IR87", "山田"], ["shift_jis", "ヤマダ"], ["", "Grüße"], ["8859/2", "Łódź"]]) {
      await assert.rejects(client.send(`${header(`TR${msh18.length}`, msh18)}\rPID|1||P1||${name}`), (e) => e.code === "AE" && e.message === `Unknown ${name}`);
    }
    const [latin1, jis] = rx.received;
    assert.equal(latin1.charset, "ISO-8859-1");
    assert.ok(latin1.message.endsWith("||MÜLLER"));
    assert.equal(jis.charset, "ISO-2022-JP");
    assert.ok(jis.message.endsWith("||山田"));
    assert.equal(rx.received[3].charset, "UTF-8");
  } finally {
    await rx.close();
  }
  // A fixed encoding on the receiver: that charset for every message.
  const fixed = await startTestReceiver({ encoding: "windows-1252" });
  try {
    await new MllpClient({ host: fixed.host, port: fixed.port, tls: false, encoding: "windows-1252" }).send(`${header("W")}\rPID|1||€`);
    assert.equal(fixed.received[0].charset, "windows-1252");
    assert.ok(fixed.received[0].message.endsWith("||€"));
  } finally {
    await fixed.close();
  }
  await assert.rejects(startTestReceiver({ encoding: "klingon" }), { code: "INVALID_INPUT" });
});
