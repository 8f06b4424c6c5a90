//! Character sets: which names mean which bytes, text to bytes for the wire, and bytes back
//! to text. The tables are `encoding_rs`'s (the WHATWG Encoding Standard as Firefox ships
//! it); this module only decides which table a name means and refuses what cannot be sent.
//!
//! Names accepted (case and surrounding spaces ignored): `utf8`, `latin1`, every WHATWG
//! label, the HL7 table 0211 names, and `auto` (see [`Encoding::Auto`]). Two rules differ
//! from WHATWG, on purpose, because a browser decoding a mislabelled page is not a receiver
//! storing bytes:
//! - a label that names an ISO standard means that standard: `latin1`, `iso-8859-1`, `l1`,
//!   ... and HL7 `8859/1` are true ISO-8859-1 (each byte is the code point; U+0100 and
//!   above cannot be encoded), where WHATWG substitutes windows-1252; likewise the
//!   ISO-8859-9 labels (WHATWG: windows-1254), TIS-620 / ISO-8859-11 (WHATWG: windows-874)
//!   and `ascii`/`us-ascii` (bytes 0x00-0x7F only). Bytes 0x80-0x9F are then the C1
//!   controls, as the ISO standards say.
//! - HL7 names encoding_rs cannot produce are refused: `ISO IR14` (JIS X 0201 alone),
//!   `ISO IR159` (JIS X 0212), `CNS 11643-1992`, `UNICODE` (UCS-2, byte order not named),
//!   `UNICODE UTF-16` (byte order not named: use `utf-16le` or `utf-16be`),
//!   `UNICODE UTF-32`, and the WHATWG `replacement` encoding.

use std::borrow::Cow;

use encoding_rs::{EncoderResult, Encoding as Table};

use crate::error::MllpError;

/// One concrete character set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// Bytes 0x00-0x7F only.
    Ascii,
    /// An ISO 8859 part whose WHATWG table is a Windows code page: that table for
    /// 0xA0-0xFF, the C1 controls at 0x80-0x9F. `Iso(WINDOWS_1252)` is ISO-8859-1.
    Iso(&'static Table),
    /// A WHATWG encoding as encoding_rs implements it.
    Whatwg(&'static Table),
}

pub const UTF8: Charset = Charset::Whatwg(encoding_rs::UTF_8);
pub const LATIN1: Charset = Charset::Iso(encoding_rs::WINDOWS_1252);

/// The `encoding` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// One charset for messages and ACKs.
    Fixed(Charset),
    /// A string message is encoded with the charset its MSH-18 names (first repetition;
    /// none: UTF-8); an ACK is decoded with its own MSH-18, else with the charset held
    /// here (the message's, once the message is prepared).
    Auto(Charset),
}

impl Default for Encoding {
    fn default() -> Encoding {
        Encoding::Fixed(UTF8)
    }
}

fn invalid(reason: impl Into<String>) -> MllpError {
    MllpError::InvalidInput(reason.into())
}

/// HL7 table 0211 (and the ISO-IR registration numbers HL7 v2.5+ also uses).
fn hl7_name(name: &str) -> Option<Result<Charset, &'static str>> {
    use encoding_rs::*;
    let upper = name.to_ascii_uppercase();
    Some(Ok(match upper.as_str() {
        "ASCII" | "ISO IR6" => Charset::Ascii,
        "8859/1" | "ISO IR100" => LATIN1,
        "8859/2" | "ISO IR101" => Charset::Whatwg(ISO_8859_2),
        "8859/3" | "ISO IR109" => Charset::Whatwg(ISO_8859_3),
        "8859/4" | "ISO IR110" => Charset::Whatwg(ISO_8859_4),
        "8859/5" | "ISO IR144" => Charset::Whatwg(ISO_8859_5),
        "8859/6" | "ISO IR127" => Charset::Whatwg(ISO_8859_6),
        "8859/7" | "ISO IR126" => Charset::Whatwg(ISO_8859_7),
        "8859/8" | "ISO IR138" => Charset::Whatwg(ISO_8859_8),
        "8859/9" | "ISO IR148" => Charset::Iso(WINDOWS_1254),
        "8859/15" => Charset::Whatwg(ISO_8859_15),
        "ISO IR87" => Charset::Whatwg(ISO_2022_JP),
        "GB 18030-2000" | "GB 18030-2005" => Charset::Whatwg(GB18030),
        "KS X 1001" | "ISO IR149" => Charset::Whatwg(EUC_KR),
        "BIG-5" => Charset::Whatwg(BIG5),
        "UNICODE UTF-8" => UTF8,
        "ISO IR14" => {
            return Some(Err(
                "JIS X 0201 on its own, which encoding_rs does not provide",
            ))
        }
        "ISO IR159" => return Some(Err("JIS X 0212, which encoding_rs cannot encode")),
        "CNS 11643-1992" => return Some(Err("CNS 11643, which encoding_rs does not provide")),
        "UNICODE" => {
            return Some(Err(
                "UCS-2 without a byte order: use \"utf-16le\" or \"utf-16be\"",
            ))
        }
        "UNICODE UTF-16" => {
            return Some(Err(
                "UTF-16 without a byte order: use \"utf-16le\" or \"utf-16be\"",
            ))
        }
        "UNICODE UTF-32" => return Some(Err("UTF-32, which encoding_rs does not provide")),
        _ => return None,
    }))
}

/// WHATWG labels that name an ISO standard the WHATWG table replaces by a Windows code page.
fn iso_label(lower: &str) -> Option<Charset> {
    use encoding_rs::*;
    Some(match lower {
        "ascii" | "us-ascii" | "ansi_x3.4-1968" => Charset::Ascii,
        "latin1" | "iso-8859-1" | "iso8859-1" | "iso88591" | "iso_8859-1" | "iso_8859-1:1987"
        | "l1" | "iso-ir-100" | "csisolatin1" | "ibm819" | "cp819" => LATIN1,
        "iso-8859-9" | "iso8859-9" | "iso88599" | "iso_8859-9" | "iso_8859-9:1989" | "l5"
        | "latin5" | "iso-ir-148" | "csisolatin5" => Charset::Iso(WINDOWS_1254),
        "iso-8859-11" | "iso8859-11" | "iso885911" | "tis-620" => Charset::Iso(WINDOWS_874),
        _ => return None,
    })
}

/// A charset name: `utf8`, `latin1`, a WHATWG label or an HL7 table 0211 name.
pub fn resolve(name: &str) -> Result<Charset, MllpError> {
    let trimmed = name.trim();
    let lower = trimmed.to_ascii_lowercase();
    if let Some(charset) = iso_label(&lower) {
        return Ok(charset);
    }
    match hl7_name(trimmed) {
        Some(Ok(charset)) => return Ok(charset),
        Some(Err(why)) => return Err(invalid(format!("character set {name:?} is {why}"))),
        None => {}
    }
    match Table::for_label_no_replacement(trimmed.as_bytes()) {
        Some(table) => Ok(Charset::Whatwg(table)),
        None if Table::for_label(trimmed.as_bytes()).is_some() => Err(invalid(format!(
            "character set {name:?} is the WHATWG replacement encoding, which decodes everything to U+FFFD"
        ))),
        None => Err(invalid(format!(
            "unknown character set {name:?}: use \"utf8\", \"latin1\", \"auto\", a WHATWG label (e.g. \"windows-1252\", \"shift_jis\") or an HL7 table 0211 name (e.g. \"8859/1\", \"ISO IR87\")"
        ))),
    }
}

impl Encoding {
    pub const UTF8: Encoding = Encoding::Fixed(UTF8);
    pub const LATIN1: Encoding = Encoding::Fixed(LATIN1);

    /// The `encoding` option: a charset name or `auto`. Unknown names are `INVALID_INPUT`.
    pub fn parse(name: &str) -> Result<Encoding, MllpError> {
        if name.trim().eq_ignore_ascii_case("auto") {
            return Ok(Encoding::Auto(UTF8));
        }
        resolve(name).map(Encoding::Fixed)
    }

    /// The charset a message is written in. With `Auto`, its MSH-18; a name there that
    /// cannot be used is `INVALID_INPUT` (the message would otherwise go out in bytes the
    /// receiver reads differently).
    pub fn message_charset(self, message: &[u8]) -> Result<Charset, MllpError> {
        match self {
            Encoding::Fixed(charset) => Ok(charset),
            Encoding::Auto(fallback) => match msh18(message) {
                None => Ok(fallback),
                Some(name) => resolve(&name).map_err(|e| invalid(format!("MSH-18: {e}"))),
            },
        }
    }

    /// How the ACK to a message written in `charset` is decoded.
    pub fn for_ack(self, charset: Charset) -> Encoding {
        match self {
            Encoding::Fixed(_) => Encoding::Fixed(charset),
            Encoding::Auto(_) => Encoding::Auto(charset),
        }
    }

    /// Bytes from the wire (an ACK) as text. Undecodable bytes become U+FFFD rather than
    /// an error: an ACK with one odd byte in MSA-3 is still an ACK. With `Auto`, the ACK's
    /// own MSH-18 decides when it names a usable charset.
    pub fn decode(self, bytes: &[u8]) -> String {
        let charset = match self {
            Encoding::Fixed(charset) => charset,
            Encoding::Auto(fallback) => msh18(bytes)
                .and_then(|name| resolve(&name).ok())
                .filter(|c| c.is_ascii_compatible())
                .unwrap_or(fallback),
        };
        charset.decode(bytes).into_owned()
    }
}

/// MSH-18 of the first MSH segment, as HL7 reads it: the first repetition, except that an
/// empty (or ASCII) first repetition followed by `ISO IR87` is the ISO 2022 code extension
/// Japanese senders use (`~ISO IR87`: ASCII with JIS X 0208 by escape sequences), which is
/// ISO-2022-JP. `None` when the field is empty or absent. Read from the bytes as ASCII:
/// every name in table 0211 is ASCII.
pub fn msh18(message: &[u8]) -> Option<String> {
    let start = if message.starts_with(b"MSH") {
        0
    } else {
        memchr::memmem::find(message, b"\rMSH").map(|i| i + 1)?
    };
    let segment = &message[start..];
    let segment = &segment[..memchr::memchr2(b'\r', b'\n', segment).unwrap_or(segment.len())];
    let &separator = segment.get(3)?;
    let mut fields = segment.split(|&b| b == separator);
    let repetition = fields
        .nth(1)
        .and_then(|msh2| msh2.get(1).copied())
        .unwrap_or(b'~');
    let field = fields.nth(15)?; // MSH-18: fields[17], MSH-2 was fields[1]
    let mut repetitions = field
        .split(|&b| b == repetition)
        .map(|r| String::from_utf8_lossy(r).trim().to_string());
    let first = repetitions.next().unwrap_or_default();
    let ascii_first = first.is_empty()
        || first.eq_ignore_ascii_case("ASCII")
        || first.eq_ignore_ascii_case("ISO IR6");
    if ascii_first && repetitions.any(|r| r.eq_ignore_ascii_case("ISO IR87")) {
        return Some("ISO IR87".into());
    }
    Some(first).filter(|f| !f.is_empty())
}

impl Charset {
    /// The name errors use.
    pub fn name(self) -> &'static str {
        match self {
            Charset::Ascii => "US-ASCII",
            Charset::Iso(t) if t == encoding_rs::WINDOWS_1252 => "ISO-8859-1",
            Charset::Iso(t) if t == encoding_rs::WINDOWS_1254 => "ISO-8859-9",
            Charset::Iso(_) => "TIS-620",
            Charset::Whatwg(t) => t.name(),
        }
    }

    /// The MLLP block bytes, CR, LF and the HL7 delimiters are their ASCII bytes in this
    /// charset: every one but UTF-16 (ISO-2022-JP switches back to ASCII before each).
    pub fn is_ascii_compatible(self) -> bool {
        !matches!(self, Charset::Whatwg(t) if t == encoding_rs::UTF_16LE || t == encoding_rs::UTF_16BE)
    }

    pub fn is_utf8(self) -> bool {
        self == UTF8
    }

    /// Text as bytes; a character this charset cannot encode is `INVALID_INPUT` naming it
    /// (never a silent `?` or a numeric character reference).
    pub fn encode(self, text: &str) -> Result<Cow<'_, [u8]>, MllpError> {
        let unencodable = |c: char, at: usize| {
            let index = text[..at].chars().count();
            invalid(format!(
                "message contains U+{:04X} {c:?} (character {index}), which {} cannot encode",
                c as u32,
                self.name()
            ))
        };
        match self {
            Charset::Whatwg(t) if t == encoding_rs::UTF_8 => Ok(Cow::Borrowed(text.as_bytes())),
            Charset::Whatwg(t) if t == encoding_rs::UTF_16LE => Ok(Cow::Owned(
                text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
            )),
            Charset::Whatwg(t) if t == encoding_rs::UTF_16BE => Ok(Cow::Owned(
                text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
            )),
            _ if text.is_ascii() && self != Charset::Whatwg(encoding_rs::ISO_2022_JP) => {
                Ok(Cow::Borrowed(text.as_bytes()))
            }
            Charset::Ascii => {
                let at = text.bytes().position(|b| !b.is_ascii()).unwrap_or(0);
                Err(unencodable(text[at..].chars().next().unwrap_or('\0'), at))
            }
            Charset::Iso(table) => {
                let mut out = Vec::with_capacity(text.len());
                for (at, c) in text.char_indices() {
                    match c as u32 {
                        code @ 0..=0x9F => out.push(code as u8),
                        _ => match single_byte(table, c) {
                            Some(b) if b >= 0xA0 => out.push(b),
                            _ => return Err(unencodable(c, at)),
                        },
                    }
                }
                Ok(Cow::Owned(out))
            }
            Charset::Whatwg(table) => {
                let mut encoder = table.new_encoder();
                let mut out = Vec::with_capacity(
                    encoder
                        .max_buffer_length_from_utf8_without_replacement(text.len())
                        .unwrap_or(text.len() * 4),
                );
                let mut read = 0;
                loop {
                    let (result, r) = encoder.encode_from_utf8_to_vec_without_replacement(
                        &text[read..],
                        &mut out,
                        true,
                    );
                    match result {
                        EncoderResult::InputEmpty => return Ok(Cow::Owned(out)),
                        EncoderResult::OutputFull => out.reserve(text.len() - read - r + 16),
                        EncoderResult::Unmappable(_) => {
                            // The char just read (ISO-2022-JP reports ESC, SO and SI as U+FFFD).
                            let c = text[..read + r].chars().next_back().unwrap_or('\0');
                            return Err(unencodable(c, read + r - c.len_utf8()));
                        }
                    }
                    read += r;
                }
            }
        }
    }

    /// Bytes as text; undecodable bytes become U+FFFD.
    pub fn decode(self, bytes: &[u8]) -> Cow<'_, str> {
        match self {
            Charset::Ascii => match std::str::from_utf8(bytes) {
                Ok(text) if text.is_ascii() => Cow::Borrowed(text),
                _ => Cow::Owned(
                    bytes
                        .iter()
                        .map(|&b| if b.is_ascii() { b as char } else { '\u{FFFD}' })
                        .collect(),
                ),
            },
            Charset::Iso(table) => {
                // A single-byte table decodes one char per byte, so bytes and chars pair up.
                let (text, _) = table.decode_without_bom_handling(bytes);
                if !bytes.iter().any(|b| (0x80..0xA0).contains(b)) {
                    return text;
                }
                let paired = bytes.iter().zip(text.chars());
                Cow::Owned(
                    paired
                        .map(|(&b, c)| {
                            if (0x80..0xA0).contains(&b) {
                                b as char
                            } else {
                                c
                            }
                        })
                        .collect(),
                )
            }
            Charset::Whatwg(table) => table.decode_without_bom_handling(bytes).0,
        }
    }

    /// Bytes as text, refusing what does not decode (a message given as UTF-16 bytes).
    pub fn decode_strict(self, bytes: &[u8]) -> Result<Cow<'_, str>, MllpError> {
        match self {
            Charset::Whatwg(table) => table
                .decode_without_bom_handling_and_without_replacement(bytes)
                .ok_or_else(|| invalid(format!("message bytes are not valid {}", self.name()))),
            _ => Ok(self.decode(bytes)),
        }
    }
}

/// The one byte `table` (a single-byte encoding) maps `c` to, if any.
fn single_byte(table: &'static Table, c: char) -> Option<u8> {
    let mut buf = [0u8; 4];
    let mut out = [0u8; 4];
    let (result, _, written) = table.new_encoder().encode_from_utf8_without_replacement(
        c.encode_utf8(&mut buf),
        &mut out,
        true,
    );
    (result == EncoderResult::InputEmpty && written == 1).then_some(out[0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::{
        BIG5, EUC_KR, GB18030, ISO_2022_JP, ISO_8859_15, ISO_8859_2, SHIFT_JIS, UTF_16LE,
        WINDOWS_1252, WINDOWS_1254,
    };

    fn charset(name: &str) -> Charset {
        resolve(name).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn names_resolve_to_the_charset_they_mean() {
        assert_eq!(charset("utf8"), UTF8);
        assert_eq!(charset(" UTF-8 "), UTF8);
        assert_eq!(charset("UNICODE UTF-8"), UTF8);
        for latin1 in ["latin1", "ISO-8859-1", "l1", "8859/1", "ISO IR100", "cp819"] {
            assert_eq!(charset(latin1), LATIN1, "{latin1}");
        }
        assert_eq!(charset("windows-1252"), Charset::Whatwg(WINDOWS_1252));
        assert_eq!(charset("8859/2"), Charset::Whatwg(ISO_8859_2));
        assert_eq!(charset("8859/15"), Charset::Whatwg(ISO_8859_15));
        assert_eq!(charset("8859/9"), Charset::Iso(WINDOWS_1254));
        assert_eq!(charset("iso-8859-9"), Charset::Iso(WINDOWS_1254));
        assert_eq!(charset("windows-1254"), Charset::Whatwg(WINDOWS_1254));
        assert_eq!(charset("ISO IR87"), Charset::Whatwg(ISO_2022_JP));
        assert_eq!(charset("iso ir87"), Charset::Whatwg(ISO_2022_JP));
        assert_eq!(charset("GB 18030-2000"), Charset::Whatwg(GB18030));
        assert_eq!(charset("KS X 1001"), Charset::Whatwg(EUC_KR));
        assert_eq!(charset("BIG-5"), Charset::Whatwg(BIG5));
        assert_eq!(charset("sjis"), Charset::Whatwg(SHIFT_JIS));
        assert_eq!(charset("utf-16le"), Charset::Whatwg(UTF_16LE));
        assert_eq!(charset("ASCII"), Charset::Ascii);
        assert_eq!(Encoding::parse("AUTO").unwrap(), Encoding::Auto(UTF8));
        for refused in [
            "ISO IR14",
            "ISO IR159",
            "CNS 11643-1992",
            "UNICODE",
            "UNICODE UTF-16",
            "UNICODE UTF-32",
            "iso-2022-kr",
            "klingon",
            "",
        ] {
            let error = Encoding::parse(refused).unwrap_err();
            assert_eq!(error.code(), "INVALID_INPUT", "{refused}");
            assert!(
                error.to_string().contains(&format!("{refused:?}")),
                "{error}"
            );
        }
    }

    #[test]
    fn every_whatwg_label_resolves() {
        // A sample across every encoding family; `for_label` is the source of truth.
        for label in [
            "unicode-1-1-utf-8",
            "cp1250",
            "koi8-r",
            "macintosh",
            "x-mac-cyrillic",
            "gbk",
            "x-gbk",
            "euc-jp",
            "csiso2022jp",
            "ms_kanji",
            "windows-31j",
            "big5-hkscs",
            "cseuckr",
            "utf-16be",
            "x-user-defined",
        ] {
            let expected = Table::for_label(label.as_bytes()).unwrap();
            match charset(label) {
                Charset::Whatwg(t) => assert_eq!(t, expected, "{label}"),
                other => panic!("{label} resolved to {other:?}"),
            }
        }
    }

    #[test]
    fn latin1_is_exact_iso_8859_1() {
        assert_eq!(
            &*LATIN1.encode("MÜLLER\u{85}\u{FF}").unwrap(),
            b"M\xdcLLER\x85\xff"
        );
        // windows-1252 has the euro sign at 0x80; ISO-8859-1 has no euro sign at all.
        assert!(LATIN1
            .encode("€")
            .unwrap_err()
            .to_string()
            .contains("U+20AC"));
        assert!(LATIN1.encode("Ā").is_err());
        assert_eq!(&*charset("windows-1252").encode("€").unwrap(), b"\x80");
        assert_eq!(LATIN1.decode(b"\x80\xe9"), "\u{80}é");
        assert_eq!(charset("windows-1252").decode(b"\x80\xe9"), "€é");
        // ISO-8859-9: Turkish letters from the table, C1 controls as themselves.
        let iso9 = charset("8859/9");
        assert_eq!(&*iso9.encode("ĞŞİ\u{80}").unwrap(), b"\xd0\xde\xdd\x80");
        assert!(iso9.encode("€").is_err());
        assert_eq!(
            charset("ascii").encode("é").unwrap_err().code(),
            "INVALID_INPUT"
        );
        assert_eq!(charset("ascii").decode(b"a\xe9"), "a\u{FFFD}");
    }

    #[test]
    fn legacy_charsets_encode_and_unmappables_are_refused() {
        let cases: [(&str, &str, &[u8]); 7] = [
            ("8859/2", "Łódź", b"\xa3\xf3d\xbc"),
            ("8859/15", "€Œ", b"\xa4\xbc"),
            ("shift_jis", "ヤマダ", b"\x83\x84\x83\x7d\x83\x5f"),
            ("ISO IR87", "山田|", b"\x1b$B;3ED\x1b(B|"),
            ("GB 18030-2000", "张€", b"\xd5\xc5\xa2\xe3"),
            ("BIG-5", "陳", b"\xb3\xaf"),
            ("KS X 1001", "김", b"\xb1\xe8"),
        ];
        for (name, text, bytes) in cases {
            let c = charset(name);
            assert_eq!(&*c.encode(text).unwrap(), bytes, "{name}");
            assert_eq!(c.decode(bytes), text, "{name}");
        }
        let error = charset("shift_jis").encode("MSH|é|😀").unwrap_err();
        assert!(
            error.to_string().contains("U+00E9") && error.to_string().contains("character 4"),
            "{error}"
        );
        assert!(charset("ISO IR87")
            .encode("a\u{1b}")
            .unwrap_err()
            .to_string()
            .contains("U+001B"));
        assert!(charset("8859/2").encode("€").is_err());
        assert!(charset("ISO IR87").encode("\u{1b}").is_err());
        assert_eq!(&*charset("utf-16be").encode("MSH").unwrap(), b"\0M\0S\0H");
    }

    #[test]
    fn msh18_first_repetition_and_the_iso_2022_extension() {
        let with = |field: &str| {
            msh18(
                format!("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5||||||{field}\rPID|1")
                    .as_bytes(),
            )
        };
        assert_eq!(with("8859/1"), Some("8859/1".into()));
        assert_eq!(with(" 8859/15 ~ISO IR87"), Some("8859/15".into()));
        assert_eq!(with("~ISO IR87"), Some("ISO IR87".into()));
        assert_eq!(with("ISO IR6~ISO IR87"), Some("ISO IR87".into()));
        assert_eq!(with(""), None);
        assert_eq!(msh18(b"MSH|^~\\&|A\rPID|1"), None);
        assert_eq!(
            msh18(b"MSH#^!\\&#A#B#C#D#1##ADT#1#P#2.5######a!b"),
            Some("a".into())
        );
        assert_eq!(
            msh18(b"FHS|^~\\&\rBHS|^~\\&\rMSH|^~\\&||||||||||||||||UNICODE UTF-8\r"),
            Some("UNICODE UTF-8".into())
        );
        let auto = Encoding::Auto(UTF8);
        assert_eq!(auto.message_charset(b"MSH|^~\\&|").unwrap(), UTF8);
        assert_eq!(
            auto.message_charset(b"MSH|^~\\&||||||||||||||||nope")
                .unwrap_err()
                .code(),
            "INVALID_INPUT"
        );
        // An ACK with its own MSH-18 is read with it; without, with the message's charset.
        let ack = b"MSH|^~\\&|||||||ACK|1|P|2.5||||||8859/1\rMSA|AA|1|\xe9";
        assert!(Encoding::Auto(UTF8).decode(ack).ends_with("|é"));
        assert!(Encoding::Auto(LATIN1)
            .decode(b"MSH|^~\\&\rMSA|AA|1|\xe9")
            .ends_with("|é"));
        assert!(Encoding::Fixed(UTF8).decode(ack).ends_with("|\u{FFFD}"));
    }
}
