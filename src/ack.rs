//! ACK parsing: MSH delimiters, MSA, every ERR segment, HL7 unescaping.
//! Rules: docs/ARCHITECTURE.md "ACK parsing"; cases: `__test__/vectors/ack.json`.

use crate::error::MllpError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckCode {
    AA,
    AE,
    AR,
    CA,
    CE,
    CR,
}

impl AckCode {
    pub fn parse(text: &str) -> Option<AckCode> {
        Some(match text {
            "AA" => AckCode::AA,
            "AE" => AckCode::AE,
            "AR" => AckCode::AR,
            "CA" => AckCode::CA,
            "CE" => AckCode::CE,
            "CR" => AckCode::CR,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            AckCode::AA => "AA",
            AckCode::AE => "AE",
            AckCode::AR => "AR",
            AckCode::CA => "CA",
            AckCode::CE => "CE",
            AckCode::CR => "CR",
        }
    }
    /// A positive acknowledgment: `send()` resolves with it.
    pub fn is_positive(self) -> bool {
        matches!(self, AckCode::AA | AckCode::CA)
    }
    /// The commit accept of enhanced mode: more frames follow.
    pub fn is_intermediate(self) -> bool {
        self == AckCode::CA
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AckErrorDetail {
    pub error_code: Option<String>,
    pub error_text: Option<String>,
    pub severity: Option<String>,
    pub location: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub code: AckCode,
    pub control_id: String,
    pub message: Option<String>,
    pub error_code: Option<String>,
    pub severity: Option<String>,
    pub errors: Vec<AckErrorDetail>,
    pub raw: String,
}

/// The message's own delimiters, from MSH-1 and MSH-2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiters {
    pub field: char,
    pub component: char,
    pub repetition: char,
    pub escape: char,
    pub subcomponent: char,
}

impl Delimiters {
    /// From a header segment (`MSH`, or `FHS`/`BHS` opening a batch): the character after
    /// the name is the field separator, the next ones up to it are MSH-2.
    fn from_header(segment: &str) -> Option<Delimiters> {
        let mut chars = segment.get(3..)?.chars();
        let field = chars.next()?;
        let mut encoding = chars.take_while(|&c| c != field);
        let mut next_or = |default| encoding.next().unwrap_or(default);
        Some(Delimiters {
            field,
            component: next_or('^'),
            repetition: next_or('~'),
            escape: next_or('\\'),
            subcomponent: next_or('&'),
        })
    }
}

/// Spaces and tabs around MSA-1 and MSA-2 are dropped; no other character is (a U+00A0 or
/// U+FEFF there is data, and the ACK is judged on it): the same rule as `@glion/ack`.
fn trim_blanks(text: &str) -> &str {
    text.trim_matches([' ', '\t'])
}

/// Segment names that end one message of a batch (`[FHS] BHS { MSH MSA [ERR] } BTS [FTS]`).
fn ends_message(name: &str) -> bool {
    matches!(name, "MSH" | "BHS" | "BTS" | "FHS" | "FTS")
}

fn malformed(reason: &str) -> MllpError {
    MllpError::MalformedAck(format!("not a parsable ACK: {reason}"))
}

fn non_empty(text: &str) -> Option<&str> {
    if text.is_empty() {
        None
    } else {
        Some(text)
    }
}

/// Field `n` of a segment already split on the field separator (`fields[0]` is the name).
fn field<'a>(fields: &[&'a str], n: usize) -> &'a str {
    fields.get(n).copied().unwrap_or("")
}

/// The first repetition, then component `n` (1-based).
fn component<'a>(field: &'a str, d: &Delimiters, n: usize) -> &'a str {
    let first = field.split(d.repetition).next().unwrap_or("");
    first.split(d.component).nth(n - 1).unwrap_or("")
}

fn subcomponent<'a>(component: &'a str, d: &Delimiters, n: usize) -> &'a str {
    component.split(d.subcomponent).nth(n - 1).unwrap_or("")
}

pub fn parse_ack(raw: &str) -> Result<Ack, MllpError> {
    let mut segments = raw.split(['\r', '\n']).filter(|s| !s.is_empty());
    let first = segments
        .next()
        .ok_or_else(|| malformed("the frame is empty"))?;
    // A byte order mark before the header (a receiver writing "UTF-8 with BOM") is skipped.
    let header = first.strip_prefix('\u{FEFF}').unwrap_or(first);
    if !(header.starts_with("MSH") || header.starts_with("FHS") || header.starts_with("BHS")) {
        return Err(malformed(
            "the first segment is not MSH (or FHS/BHS for a batch)",
        ));
    }
    let d =
        Delimiters::from_header(header).ok_or_else(|| malformed("MSH has no field separator"))?;

    // The first MSA decides; the ERR segments read are those of the message it belongs to
    // (a plain ACK has one message; a batch of ACKs has one per MSH).
    let mut msa: Option<Vec<&str>> = None;
    let mut errors = Vec::new();
    for segment in segments {
        let fields: Vec<&str> = segment.split(d.field).collect();
        match fields[0] {
            name if ends_message(name) => {
                if msa.is_some() {
                    break;
                }
                errors.clear();
            }
            "MSA" if msa.is_none() => msa = Some(fields),
            "ERR" => errors.push(parse_err(&fields, &d)),
            _ => {}
        }
    }
    let msa = msa.ok_or_else(|| malformed("no MSA segment"))?;
    let code_text = trim_blanks(field(&msa, 1));
    let code = AckCode::parse(code_text)
        .ok_or_else(|| malformed(&format!("unknown MSA-1 acknowledgment code {code_text:?}")))?;
    let (error_code, severity) = errors
        .first()
        .map(|e: &AckErrorDetail| (e.error_code.clone(), e.severity.clone()))
        .unwrap_or((None, None));
    Ok(Ack {
        code,
        control_id: trim_blanks(field(&msa, 2)).to_string(),
        message: non_empty(field(&msa, 3)).map(|t| unescape(t, &d)),
        error_code,
        severity,
        errors,
        raw: raw.to_string(),
    })
}

fn parse_err(fields: &[&str], d: &Delimiters) -> AckErrorDetail {
    // v2.5+: ERR-2 location (ERL), ERR-3 code (CWE: identifier^text^system), ERR-4
    // severity, ERR-8 user message. v2.3-2.4: ERR-1 (ELD: segment^sequence^field^code&text).
    // Only the first repetition of ERR-1, ERR-2 and ERR-3 is read.
    let first_repetition = |n: usize| field(fields, n).split(d.repetition).next().unwrap_or("");
    let err3 = first_repetition(3);
    let eld = first_repetition(1);
    let (code, text) = if err3.is_empty() {
        let coded = component(eld, d, 4);
        (subcomponent(coded, d, 1), subcomponent(coded, d, 2))
    } else {
        (component(err3, d, 1), component(err3, d, 2))
    };
    let location = non_empty(first_repetition(2))
        .map(str::to_string)
        .or_else(|| {
            let mut parts: Vec<&str> = eld.split(d.component).take(3).collect();
            while parts.last().is_some_and(|p| p.is_empty()) {
                parts.pop();
            }
            non_empty(&parts.join(&d.component.to_string())).map(str::to_string)
        });
    AckErrorDetail {
        error_code: non_empty(code).map(|c| unescape(c, d)),
        error_text: non_empty(text)
            .or_else(|| non_empty(field(fields, 8)))
            .map(|t| unescape(t, d)),
        severity: non_empty(component(field(fields, 4), d, 1)).map(str::to_string),
        location,
    }
}

/// Undo HL7 escape sequences written with the message's own escape character.
/// `\F\ \S\ \T\ \R\ \E\` and `\Xhh..\` are decoded; any other sequence, and an unterminated
/// one, is kept as it stands (formatting escapes carry meaning we must not drop).
pub fn unescape(text: &str, d: &Delimiters) -> String {
    if !text.contains(d.escape) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(d.escape) {
        out.push_str(&rest[..start]);
        let after = &rest[start + d.escape.len_utf8()..];
        let Some(end) = after.find(d.escape) else {
            out.push_str(&rest[start..]);
            return out;
        };
        let body = &after[..end];
        let consumed = start + d.escape.len_utf8() + end + d.escape.len_utf8();
        match body {
            "F" => out.push(d.field),
            "S" => out.push(d.component),
            "T" => out.push(d.subcomponent),
            "R" => out.push(d.repetition),
            "E" => out.push(d.escape),
            _ if body.len() > 1 && body.starts_with('X') && decode_hex(&body[1..]).is_some() => {
                let bytes = decode_hex(&body[1..]).unwrap_or_default();
                match String::from_utf8(bytes) {
                    Ok(s) => out.push_str(&s),
                    Err(e) => out.extend(e.into_bytes().iter().map(|&b| b as char)),
                }
            }
            _ => out.push_str(&rest[start..consumed]),
        }
        rest = &rest[consumed..];
    }
    out.push_str(rest);
    out
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_aa() {
        let ack = parse_ack("MSH|^~\\&|R|F|S|F|20260101||ACK|1|P|2.5\rMSA|AA|MSG00001").unwrap();
        assert_eq!(ack.code, AckCode::AA);
        assert_eq!(ack.control_id, "MSG00001");
        assert_eq!(ack.message, None);
        assert!(ack.errors.is_empty());
    }

    #[test]
    fn custom_delimiters_and_escapes() {
        let raw = "MSH#*~!@#R\nMSA#AE#7#bad !F! field !S! x !E!!X41!\nERR##PID*1#207*Oops#E";
        let ack = parse_ack(raw).unwrap();
        assert_eq!(ack.message.as_deref(), Some("bad # field * x !A"));
        assert_eq!(ack.error_code.as_deref(), Some("207"));
        assert_eq!(ack.severity.as_deref(), Some("E"));
        assert_eq!(ack.errors[0].error_text.as_deref(), Some("Oops"));
        assert_eq!(ack.errors[0].location.as_deref(), Some("PID*1"));
    }

    #[test]
    fn v23_err() {
        let raw = "MSH|^~\\&|R\r\nMSA|AR|9\r\nERR|PID^1^3^204&Unknown key&HL70357\r\n";
        let ack = parse_ack(raw).unwrap();
        let e = &ack.errors[0];
        assert_eq!(e.error_code.as_deref(), Some("204"));
        assert_eq!(e.error_text.as_deref(), Some("Unknown key"));
        assert_eq!(e.location.as_deref(), Some("PID^1^3"));
        assert_eq!(e.severity, None);
    }

    #[test]
    fn refusals() {
        for raw in [
            "",
            "PID|1",
            "MSH|^~\\&\rPID|1",
            "MSH|^~\\&\rMSA|XX|1",
            "MSH",
            "MSH|^~\\&\rMSA|aa|1",
        ] {
            assert_eq!(
                parse_ack(raw).unwrap_err().code(),
                "MALFORMED_ACK",
                "{raw:?}"
            );
        }
    }

    #[test]
    fn unknown_and_unterminated_escapes_kept() {
        let d = Delimiters::from_header("MSH|^~\\&").unwrap();
        assert_eq!(unescape("a\\H\\b\\N\\", &d), "a\\H\\b\\N\\");
        assert_eq!(unescape("x\\F", &d), "x\\F");
        assert_eq!(unescape("\\XC3A9\\", &d), "é");
        assert_eq!(unescape("\\XE9\\", &d), "é");
    }
}
