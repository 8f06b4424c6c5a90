//! Outgoing-message checks and the framed bytes to write.
//! Rules: docs/ARCHITECTURE.md "Outgoing message checks"; cases: `__test__/vectors/messages.json`.

use std::borrow::Cow;

use crate::error::MllpError;
use crate::frame::{CARRIAGE_RETURN, END_BLOCK, START_BLOCK};

use crate::charset::Charset;
pub use crate::charset::Encoding;

/// A message ready for the wire.
#[derive(Clone)]
pub struct Prepared {
    /// `0x0B` + message (segments ended by `\r`) + `0x1C 0x0D`: what goes on the wire, owned
    /// here (contract: "Message bytes belong to the call").
    pub frame: Vec<u8>,
    /// MSH-10 to match against MSA-2; `None` for a batch (FHS/BHS), which is not checked.
    pub control_id: Option<String>,
    /// How this message's ACKs are decoded (with `auto`, the message's charset is the
    /// fallback when an ACK has no MSH-18).
    pub encoding: Encoding,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("message_len", &self.message().len())
            .field("control_id", &self.control_id)
            .finish()
    }
}

/// Two prepared messages are equal when they put the same bytes on the wire for the same
/// control id, however they hold them.
impl PartialEq for Prepared {
    fn eq(&self, other: &Prepared) -> bool {
        self.message() == other.message() && self.control_id == other.control_id
    }
}

impl Eq for Prepared {}

const END: &[u8] = &[END_BLOCK, CARRIAGE_RETURN];

impl Prepared {
    /// The message bytes inside the frame.
    pub fn message(&self) -> &[u8] {
        &self.frame[1..self.frame.len() - 2]
    }
}

fn invalid(reason: impl Into<String>) -> MllpError {
    MllpError::InvalidInput(reason.into())
}

/// Check and frame a text message, encoding it with `encoding` (with `auto`: the charset
/// its MSH-18 names). A character the charset cannot encode is `INVALID_INPUT`.
pub fn prepare_text(message: &str, encoding: Encoding) -> Result<Prepared, MllpError> {
    let charset = encoding.message_charset(message.as_bytes())?;
    if charset.is_ascii_compatible() {
        return frame_checked(&charset.encode(message)?, charset, encoding);
    }
    // UTF-16: the checks (MSH first, no block characters, line ends) apply to the text;
    // then the checked text is encoded and framed.
    let checked = frame_checked(message.as_bytes(), crate::charset::UTF8, encoding)?;
    let text = std::str::from_utf8(checked.message()).expect("a checked str stays UTF-8");
    let wire = charset.encode(text)?;
    // A frame ends at the bytes 0x1C 0x0D wherever they are: no receiver could read it.
    if wire.windows(2).any(|w| w == [END_BLOCK, CARRIAGE_RETURN]) {
        return Err(invalid(format!(
            "the {} encoding of this message contains the bytes 0x1C 0x0D, which end an MLLP frame",
            charset.name()
        )));
    }
    let mut frame = Vec::with_capacity(wire.len() + 3);
    frame.push(START_BLOCK);
    frame.extend_from_slice(&wire);
    frame.extend_from_slice(END);
    Ok(Prepared {
        frame,
        control_id: checked.control_id,
        encoding: encoding.for_ack(charset),
    })
}

/// The charset of a message given as bytes (sent as they are): the fixed one, or with
/// `auto` the one its MSH-18 names. Bytes that begin with ASCII `MSH` cannot be UTF-16.
fn bytes_charset(message: &[u8], encoding: Encoding) -> Result<Charset, MllpError> {
    let charset = encoding.message_charset(message)?;
    if !charset.is_ascii_compatible() && matches!(encoding, Encoding::Auto(_)) {
        return Err(invalid(format!(
            "MSH-18 names {}, but the message bytes begin with ASCII MSH: pass a string, or the bytes with encoding {:?}",
            charset.name(),
            charset.name().to_ascii_lowercase()
        )));
    }
    Ok(charset)
}

/// Check and frame a message given as bytes. Bytes are sent as they are, except that `\r\n`
/// and a lone `\n` between segments become `\r`. `encoding` reads MSH-10 the way the ACK
/// will be read, so that a non-ASCII control id compares equal to its echo in MSA-2.
pub fn prepare_bytes(message: &[u8], encoding: Encoding) -> Result<Prepared, MllpError> {
    let charset = bytes_charset(message, encoding)?;
    if !charset.is_ascii_compatible() {
        return prepare_text(&charset.decode_strict(message)?, encoding);
    }
    frame_checked(message, charset, encoding)
}

/// Check and frame bytes in `charset` (ASCII-compatible): the block bytes and line ends
/// are the ASCII ones, which no multi-byte sequence of these charsets contains.
fn frame_checked(
    message: &[u8],
    charset: Charset,
    encoding: Encoding,
) -> Result<Prepared, MllpError> {
    let (batch, field_sep) = check_header(message)?;
    let mut frame = Vec::with_capacity(message.len() + 3);
    frame.push(START_BLOCK);
    let mut at = 0;
    // Copy runs between line-end and block bytes in bulk; only those bytes need a decision.
    while let Some(i) = memchr::memchr3(b'\n', START_BLOCK, END_BLOCK, &message[at..]) {
        let i = at + i;
        frame.extend_from_slice(&message[at..i]);
        frame.extend_from_slice(line_end(message[i - 1], message[i])?);
        at = i + 1;
    }
    frame.extend_from_slice(&message[at..]);
    finish(frame, batch, field_sep, charset, encoding)
}

/// What replaces `byte`, a line feed or an MLLP block byte, after `prev` (the message's
/// byte before it): `\r\n` keeps its `\r` (the `\n` goes), a lone `\n` becomes `\r`; a
/// block byte is refused.
fn line_end(prev: u8, byte: u8) -> Result<&'static [u8], MllpError> {
    match byte {
        b'\n' if prev == CARRIAGE_RETURN => Ok(&[]),
        b'\n' => Ok(&[CARRIAGE_RETURN]),
        b => Err(invalid(format!(
            "message contains the MLLP block byte 0x{b:02X}, which would break framing"
        ))),
    }
}

/// Ends `frame` (start byte and checked message) and reads its MSH-10.
fn finish(
    mut frame: Vec<u8>,
    batch: bool,
    field_sep: u8,
    charset: Charset,
    encoding: Encoding,
) -> Result<Prepared, MllpError> {
    frame.push(END_BLOCK);
    frame.push(CARRIAGE_RETURN);
    let body = &frame[1..frame.len() - 2];
    let control_id = if batch {
        None
    } else {
        Some(msh10(body, field_sep, charset))
    };
    Ok(Prepared {
        frame,
        control_id,
        encoding: encoding.for_ack(charset),
    })
}

/// Like [`frame_checked`] for a message already in its frame buffer (`frame[0]` is the start
/// byte), checked and framed where it is: line ends only shrink, so the message moves
/// left, and a message with none is not copied at all.
fn frame_in_place(
    mut frame: Vec<u8>,
    charset: Charset,
    encoding: Encoding,
) -> Result<Prepared, MllpError> {
    let (batch, field_sep) = check_header(&frame[1..])?;
    let (mut at, mut to) = (1, 1);
    while let Some(i) = memchr::memchr3(b'\n', START_BLOCK, END_BLOCK, &frame[at..]) {
        let i = at + i;
        // At `i == at` the byte before is the line feed just handled, maybe overwritten.
        let prev = if i > at { frame[i - 1] } else { b'\n' };
        let end = line_end(prev, frame[i])?;
        frame.copy_within(at..i, to);
        to += i - at;
        frame[to..to + end.len()].copy_from_slice(end);
        to += end.len();
        at = i + 1;
    }
    if to < at {
        frame.copy_within(at.., to);
        frame.truncate(to + frame.len() - at);
    }
    finish(frame, batch, field_sep, charset, encoding)
}

/// Size a frame buffer for a text of at most `max_utf8_len` bytes of UTF-8, to be written
/// after its start byte (`frame.len() == 1`) and then given to [`prepare_utf8_frame`]; the
/// capacity leaves room for the end bytes, so framing never reallocates.
pub fn utf8_frame_buffer(max_utf8_len: usize) -> Vec<u8> {
    let mut frame = Vec::with_capacity(max_utf8_len.saturating_add(END.len() + 1));
    frame.push(START_BLOCK);
    frame
}

/// [`prepare_text`] for a text already written as UTF-8 into its frame buffer (see
/// [`utf8_frame_buffer`]; the napi surface writes a JS string there with one call). The
/// same bytes as `prepare_text` gives, without copying the text again when the charset's
/// bytes for it are its UTF-8: UTF-8 itself, or ASCII text in a charset where ASCII is
/// the same bytes (what `Charset::encode` borrows).
pub fn prepare_utf8_frame(frame: Vec<u8>, encoding: Encoding) -> Result<Prepared, MllpError> {
    let text = &frame[1..];
    let charset = encoding.message_charset(text)?;
    if charset.is_utf8() {
        return frame_in_place(frame, charset, encoding);
    }
    let text = std::str::from_utf8(text).map_err(|_| invalid("message is not valid text"))?;
    if !charset.is_ascii_compatible() || matches!(charset.encode(text)?, Cow::Owned(_)) {
        return prepare_text(text, encoding);
    }
    frame_in_place(frame, charset, encoding)
}

/// `MSH`/`FHS`/`BHS` and a field separator: whether it is a batch, and the separator.
fn check_header(message: &[u8]) -> Result<(bool, u8), MllpError> {
    if message.is_empty() {
        return Err(invalid("message is empty"));
    }
    let header = &message[..message.len().min(3)];
    let batch = header == b"FHS" || header == b"BHS";
    if header != b"MSH" && !batch {
        return Err(invalid(
            "message must begin with an MSH segment (or FHS/BHS for a batch)",
        ));
    }
    let Some(&field_sep) = message.get(3) else {
        return Err(invalid("message header has no field separator after MSH"));
    };
    if matches!(field_sep, b'\r' | b'\n') {
        return Err(invalid("message header has no field separator after MSH"));
    }

    Ok((batch, field_sep))
}

/// MSH-10 of the first segment, `""` when absent. The segment is decoded before it is
/// split: in Shift_JIS, Big5 or ISO-2022-JP the byte 0x7C (`|`) can be half of a character.
fn msh10(message: &[u8], field_sep: u8, charset: Charset) -> String {
    let first = message
        .split(|&b| b == CARRIAGE_RETURN)
        .next()
        .unwrap_or(&[]);
    if !field_sep.is_ascii() {
        let value = first.split(|&b| b == field_sep).nth(9).unwrap_or(&[]);
        return charset.decode(value).trim().to_string();
    }
    let text = charset.decode(first);
    text.split(field_sep as char)
        .nth(9)
        .unwrap_or("")
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ends_become_cr() {
        let p = prepare_bytes(
            b"MSH|^~\\&|||||||ADT|42|P|2.5\r\nPID|1\nPV1|1\n\n",
            Encoding::UTF8,
        )
        .unwrap();
        assert_eq!(
            p.message(),
            b"MSH|^~\\&|||||||ADT|42|P|2.5\rPID|1\rPV1|1\r\r"
        );
        assert_eq!(p.control_id.as_deref(), Some("42"));
    }

    #[test]
    fn cr_kept_and_nothing_appended() {
        let p = prepare_text("MSH|^~\\&|||||||ADT|7\rPID|1", Encoding::UTF8).unwrap();
        assert_eq!(
            p.frame,
            b"\x0bMSH|^~\\&|||||||ADT|7\rPID|1\x1c\x0d".to_vec()
        );
    }

    #[test]
    fn refusals() {
        for m in [
            "",
            "PID|1",
            "MSH",
            "MSH\r",
            " MSH|^~\\&",
            "MSH|a\x0bb",
            "MSH|a\x1cb",
        ] {
            assert_eq!(
                prepare_text(m, Encoding::UTF8).unwrap_err().code(),
                "INVALID_INPUT",
                "{m:?}"
            );
        }
        assert!(prepare_text("MSH|é€", Encoding::LATIN1).is_err());
    }

    #[test]
    fn large_bytes_are_copied_normalized_and_checked() {
        let mut big = b"MSH|^~\\&|||||||ADT|BIG|P|2.5\rOBX|1|ED|||".to_vec();
        big.resize(200_000, b'A');
        let p = prepare_bytes(&big, Encoding::UTF8).unwrap();
        assert_eq!(p.control_id.as_deref(), Some("BIG"));
        assert_eq!(p.frame, [&[0x0b][..], &big, &[0x1c, 0x0d]].concat());
        // A line feed is normalized.
        big[100] = b'\n';
        let p = prepare_bytes(&big, Encoding::UTF8).unwrap();
        assert_eq!(p.message()[100], b'\r');
        big[100] = 0x1c;
        assert_eq!(
            prepare_bytes(&big, Encoding::UTF8).unwrap_err().code(),
            "INVALID_INPUT"
        );
    }

    /// `prepare_utf8_frame` as the napi surface uses it: the text written after the start byte.
    fn in_frame(text: &str, encoding: Encoding) -> Result<Prepared, MllpError> {
        let mut frame = utf8_frame_buffer(text.len());
        frame.extend_from_slice(text.as_bytes());
        prepare_utf8_frame(frame, encoding)
    }

    #[test]
    fn text_framed_in_place_is_what_prepare_text_gives() {
        let texts = [
            "MSH|^~\\&|||||||ADT|42|P|2.5\r\nPID|1\nPV1|1\n\n",
            "MSH|^~\\&|||||||ADT|42\n\n\nPID|1\r\n\r\n",
            "MSH|^~\\&|||||||ADT|42\r\n\nPID|\n\r\nX",
            "MSH|^~\\&|||||||ADT|42\rPID|1\r",
            "MSH|^~\\&|||||||ADT|é€1|P\rPID|ü\n",
            "MSH|^~\\&|||||||ADT|1|P|2.5||||||8859/1\rPID|é\n",
            "MSH|^~\\&|||||||ADT|1|P|2.5||||||ISO IR87\rPID|ヤマダ",
            "MSH|^~\\&|||||||ADT|1|P|2.5||||||utf-16le\rPID|ü",
            "MSH|^~\\&|||||||ADT|1|P|2.5||||||nonsense\r",
            "BHS|^~\\&|x\n",
            "MSH|^~\\&|\u{1b}$B",
            "",
            "M",
            "MSH",
            "PID|1",
            "MSH\n",
            "MSH|a\u{0b}b",
            "MSH|a\nb\u{1c}",
            "MSH|^~\\&|é\u{fffd}",
        ];
        for name in [
            "utf-8",
            "latin1",
            "ascii",
            "shift_jis",
            "iso-2022-jp",
            "utf-16le",
            "utf-16be",
            "auto",
        ] {
            for text in texts {
                let want = prepare_text(text, encoding(name));
                let got = in_frame(text, encoding(name));
                match (&want, &got) {
                    (Ok(w), Ok(g)) => {
                        assert_eq!(w.frame, g.frame, "{name} {text:?}");
                        assert_eq!(w.control_id, g.control_id, "{name} {text:?}");
                        assert_eq!(w.encoding, g.encoding, "{name} {text:?}");
                    }
                    (Err(w), Err(g)) => assert_eq!(w.to_string(), g.to_string(), "{name} {text:?}"),
                    _ => panic!("{name} {text:?}: {want:?} vs {got:?}"),
                }
            }
        }
    }

    #[test]
    fn latin1_and_batches() {
        let p = prepare_text("BHS|^~\\&|é", Encoding::LATIN1).unwrap();
        assert_eq!(p.message(), b"BHS|^~\\&|\xe9");
        assert_eq!(p.control_id, None);
    }

    fn encoding(name: &str) -> Encoding {
        Encoding::parse(name).unwrap()
    }

    #[test]
    fn text_is_encoded_in_the_charset_and_msh10_read_in_it() {
        let p = prepare_text(
            "MSH|^~\\&|||||||ADT|ヤ1|P|2.5\rPID|1||ヤマダ",
            encoding("shift_jis"),
        )
        .unwrap();
        assert_eq!(
            p.message(),
            b"MSH|^~\\&|||||||ADT|\x83\x841|P|2.5\rPID|1||\x83\x84\x83\x7d\x83\x5f"
        );
        assert_eq!(p.control_id.as_deref(), Some("ヤ1"));
        // Given as bytes, MSH-10 is decoded before it is split: 0x7C can be half a character.
        let p = prepare_bytes(b"MSH|^~\\&|||||||ADT|\x95\x7c1|P", encoding("shift_jis")).unwrap();
        assert_eq!(p.control_id.as_deref(), Some("怖1"));
        let error = prepare_text("MSH|^~\\&|é", encoding("ascii")).unwrap_err();
        assert!(error.to_string().contains("U+00E9"), "{error}");
    }

    #[test]
    fn auto_reads_msh18_and_carries_the_charset_to_the_ack() {
        let p = prepare_text(
            "MSH|^~\\&|||||||ADT|1|P|2.5||||||8859/1\rPID|é",
            encoding("auto"),
        )
        .unwrap();
        assert!(p.message().ends_with(b"PID|\xe9"));
        assert_eq!(p.encoding, Encoding::Auto(crate::charset::LATIN1));
        let p = prepare_text("MSH|^~\\&|||||||ADT|1|P|2.5\rPID|é", encoding("auto")).unwrap();
        assert!(p.message().ends_with("PID|é".as_bytes()));
        let p = prepare_bytes(
            b"MSH|^~\\&|||||||ADT|\xe91|P|2.5||||||8859/1\rPID|\xe9",
            encoding("auto"),
        )
        .unwrap();
        assert_eq!(p.control_id.as_deref(), Some("é1"));
        assert!(
            p.message().ends_with(b"PID|\xe9"),
            "bytes are sent as given"
        );
        assert_eq!(
            prepare_bytes(
                b"MSH|^~\\&|||||||ADT|1|P|2.5||||||utf-16le\r",
                encoding("auto")
            )
            .unwrap_err()
            .code(),
            "INVALID_INPUT"
        );
    }

    #[test]
    fn utf16_checks_the_text_then_encodes_it() {
        let p = prepare_text("MSH|^~\\&|||||||ADT|U1\nPID|ü", encoding("utf-16le")).unwrap();
        let expected: Vec<u8> = "MSH|^~\\&|||||||ADT|U1\rPID|ü"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(p.message(), expected);
        assert_eq!(p.control_id.as_deref(), Some("U1"));
        assert_eq!(
            prepare_bytes(&expected, encoding("utf-16le")).unwrap(),
            p,
            "UTF-16 bytes are read as text first"
        );
        for refused in ["PID|1", "MSH|\u{1c}", "MSH|^~\\&|\u{d1c}\r"] {
            assert_eq!(
                prepare_text(refused, encoding("utf-16le"))
                    .unwrap_err()
                    .code(),
                "INVALID_INPUT",
                "{refused:?}"
            );
        }
        assert_eq!(
            prepare_bytes(b"M\0S\0H\0|\0\0\xd8", encoding("utf-16le"))
                .unwrap_err()
                .code(),
            "INVALID_INPUT"
        );
    }
}
