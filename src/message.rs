//! Outgoing-message checks and the framed bytes to write.
//! Rules: docs/ARCHITECTURE.md "Outgoing message checks"; cases: `__test__/vectors/messages.json`.

use std::sync::Arc;

use crate::error::MllpError;
use crate::frame::{CARRIAGE_RETURN, END_BLOCK, START_BLOCK};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    #[default]
    Utf8,
    Latin1,
}

impl Encoding {
    pub fn parse(name: &str) -> Option<Encoding> {
        match name {
            "utf8" | "utf-8" => Some(Encoding::Utf8),
            "latin1" => Some(Encoding::Latin1),
            _ => None,
        }
    }

    /// Bytes from the wire as text. Invalid UTF-8 is replaced rather than refused: an ACK
    /// with one odd byte in MSA-3 is still an ACK.
    pub fn decode(self, bytes: &[u8]) -> String {
        match self {
            Encoding::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
            Encoding::Latin1 => bytes.iter().map(|&b| b as char).collect(),
        }
    }
}

/// The caller's bytes, kept rather than copied when they can go on the wire as they are.
pub type SharedBytes = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// Below this size a message is copied into one frame buffer (one small write); above it,
/// bytes that need no change are written from the caller's memory.
const SHARE_FROM_BYTES: usize = 64 * 1024;

/// A message ready for the wire.
#[derive(Clone)]
pub struct Prepared {
    /// `0x0B` + message (segments ended by `\r`) + `0x1C 0x0D`; empty when `shared` holds
    /// the message.
    pub frame: Vec<u8>,
    /// A large message given as bytes that needed no change: sent from the caller's memory.
    pub shared: Option<SharedBytes>,
    /// MSH-10 to match against MSA-2; `None` for a batch (FHS/BHS), which is not checked.
    pub control_id: Option<String>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("message_len", &self.message().len())
            .field("shared", &self.shared.is_some())
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

const START: &[u8] = &[START_BLOCK];
const END: &[u8] = &[END_BLOCK, CARRIAGE_RETURN];

impl Prepared {
    /// The message bytes inside the frame.
    pub fn message(&self) -> &[u8] {
        match &self.shared {
            Some(bytes) => (**bytes).as_ref(),
            None => &self.frame[1..self.frame.len() - 2],
        }
    }

    /// What to write, in order (a vectored write when the message is shared).
    pub fn wire_parts(&self) -> [&[u8]; 3] {
        match &self.shared {
            Some(bytes) => [START, (**bytes).as_ref(), END],
            None => [&self.frame, &[], &[]],
        }
    }
}

fn invalid(reason: impl Into<String>) -> MllpError {
    MllpError::InvalidInput(reason.into())
}

/// Check and frame a text message, encoding it with `encoding`.
pub fn prepare_text(message: &str, encoding: Encoding) -> Result<Prepared, MllpError> {
    match encoding {
        Encoding::Utf8 => prepare_bytes(message.as_bytes(), encoding),
        Encoding::Latin1 => {
            let mut bytes = Vec::with_capacity(message.len());
            for c in message.chars() {
                let code = c as u32;
                if code > 0xFF {
                    return Err(invalid(format!(
                        "message contains U+{code:04X}, which latin1 cannot encode"
                    )));
                }
                bytes.push(code as u8);
            }
            prepare_bytes(&bytes, encoding)
        }
    }
}

/// Check and frame a message given as bytes. Bytes are sent as they are, except that `\r\n`
/// and a lone `\n` between segments become `\r`. `encoding` reads MSH-10 the way the ACK
/// will be read, so that a non-ASCII control id compares equal to its echo in MSA-2.
pub fn prepare_bytes(message: &[u8], encoding: Encoding) -> Result<Prepared, MllpError> {
    let (batch, field_sep) = check_header(message)?;
    let mut frame = Vec::with_capacity(message.len() + 3);
    frame.push(START_BLOCK);
    let mut at = 0;
    // Copy runs between line-end and block bytes in bulk; only those bytes need a decision.
    while let Some(i) = memchr::memchr3(b'\n', START_BLOCK, END_BLOCK, &message[at..]) {
        let i = at + i;
        match message[i] {
            b'\n' => {
                frame.extend_from_slice(&message[at..i]);
                // `\r\n` keeps its `\r`; a lone `\n` becomes one.
                if message[i - 1] != CARRIAGE_RETURN {
                    frame.push(CARRIAGE_RETURN);
                }
                at = i + 1;
            }
            b => {
                return Err(invalid(format!(
                    "message contains the MLLP block byte 0x{b:02X}, which would break framing"
                )))
            }
        }
    }
    frame.extend_from_slice(&message[at..]);
    frame.push(END_BLOCK);
    frame.push(CARRIAGE_RETURN);

    let body = &frame[1..frame.len() - 2];
    let control_id = if batch {
        None
    } else {
        Some(msh10(body, field_sep, encoding))
    };
    Ok(Prepared {
        frame,
        shared: None,
        control_id,
    })
}

/// Like [`prepare_bytes`] for bytes the caller hands over: a large message that needs no
/// change is kept and written from the caller's memory, without a copy.
pub fn prepare_shared(message: SharedBytes, encoding: Encoding) -> Result<Prepared, MllpError> {
    let bytes = (*message).as_ref();
    if bytes.len() < SHARE_FROM_BYTES {
        return prepare_bytes(bytes, encoding);
    }
    let (batch, field_sep) = check_header(bytes)?;
    match memchr::memchr3(b'\n', START_BLOCK, END_BLOCK, bytes) {
        Some(_) => prepare_bytes(bytes, encoding),
        None => {
            let control_id = if batch {
                None
            } else {
                Some(msh10(bytes, field_sep, encoding))
            };
            Ok(Prepared {
                frame: Vec::new(),
                shared: Some(message),
                control_id,
            })
        }
    }
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

/// MSH-10 of the first segment, `""` when absent.
fn msh10(message: &[u8], field_sep: u8, encoding: Encoding) -> String {
    let first = message
        .split(|&b| b == CARRIAGE_RETURN)
        .next()
        .unwrap_or(&[]);
    let value = first.split(|&b| b == field_sep).nth(9).unwrap_or(&[]);
    encoding.decode(value).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ends_become_cr() {
        let p = prepare_bytes(
            b"MSH|^~\\&|||||||ADT|42|P|2.5\r\nPID|1\nPV1|1\n\n",
            Encoding::Utf8,
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
        let p = prepare_text("MSH|^~\\&|||||||ADT|7\rPID|1", Encoding::Utf8).unwrap();
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
                prepare_text(m, Encoding::Utf8).unwrap_err().code(),
                "INVALID_INPUT",
                "{m:?}"
            );
        }
        assert!(prepare_text("MSH|é€", Encoding::Latin1).is_err());
    }

    #[test]
    fn large_unchanged_bytes_are_shared_not_copied() {
        let mut big = b"MSH|^~\\&|||||||ADT|BIG|P|2.5\rOBX|1|ED|||".to_vec();
        big.resize(200_000, b'A');
        let shared: SharedBytes = Arc::new(big.clone());
        let p = prepare_shared(shared.clone(), Encoding::Utf8).unwrap();
        assert!(p.frame.is_empty());
        assert_eq!(
            p.message().as_ptr(),
            (*shared).as_ref().as_ptr(),
            "written from the caller's memory"
        );
        assert_eq!(p.control_id.as_deref(), Some("BIG"));
        assert_eq!(
            p.wire_parts().concat(),
            [&[0x0b][..], &big, &[0x1c, 0x0d]].concat()
        );
        // A line feed needs a change: then it is copied and normalized.
        big[100] = b'\n';
        let p = prepare_shared(Arc::new(big.clone()), Encoding::Utf8).unwrap();
        assert!(p.shared.is_none());
        assert_eq!(p.message()[100], b'\r');
        big[100] = 0x1c;
        assert_eq!(
            prepare_shared(Arc::new(big), Encoding::Utf8)
                .unwrap_err()
                .code(),
            "INVALID_INPUT"
        );
    }

    #[test]
    fn latin1_and_batches() {
        let p = prepare_text("BHS|^~\\&|é", Encoding::Latin1).unwrap();
        assert_eq!(p.message(), b"BHS|^~\\&|\xe9");
        assert_eq!(p.control_id, None);
    }
}
