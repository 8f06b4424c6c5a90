//! The outgoing-message checks on arbitrary bytes (as bytes in both encodings, and as a UTF-8
//! or Latin-1 string). Invariants: no panic; an error is `INVALID_INPUT`; an Ok frame is
//! 0x0B + message + 0x1C 0x0D with no other block byte and no `\n`; its message is the input
//! with `\r\n`/`\n` turned into `\r`; the control id is `None` exactly for FHS/BHS and else
//! MSH-10 of the message (never of the frame's block bytes), read with the encoding, trimmed.
#![no_main]

use glion_mllp_client::frame::{CARRIAGE_RETURN, END_BLOCK, START_BLOCK};
use glion_mllp_client::message::{prepare_bytes, prepare_text, Encoding, Prepared};
use glion_mllp_client::error::MllpError;
use libfuzzer_sys::fuzz_target;

/// The normalization the rules describe, written the slow, obvious way.
fn normalized(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    for (i, &b) in input.iter().enumerate() {
        if b == b'\n' {
            if i == 0 || input[i - 1] != b'\r' {
                out.push(b'\r');
            }
        } else {
            out.push(b);
        }
    }
    out
}

/// MSH-10 of `message` (already normalized): split the first segment on MSH-1.
fn msh10(message: &[u8], encoding: Encoding) -> String {
    let first = message.split(|&b| b == b'\r').next().unwrap_or(&[]);
    let value = first.split(|&b| b == message[3]).nth(9).unwrap_or(&[]);
    encoding.decode(value).trim().to_string()
}

fn check(data: &[u8], encoding: Encoding, prepared: &Result<Prepared, MllpError>) {
    match prepared {
        Ok(p) => {
            let frame = &p.frame;
            assert!(frame.len() >= 3 + 4, "frame too short: {frame:?}");
            assert_eq!(frame[0], START_BLOCK);
            assert_eq!(&frame[frame.len() - 2..], &[END_BLOCK, CARRIAGE_RETURN]);
            let inner = &frame[1..frame.len() - 2];
            assert!(!inner.contains(&START_BLOCK) && !inner.contains(&END_BLOCK), "block byte inside");
            assert!(!inner.contains(&b'\n'), "a line feed reached the wire");
            assert_eq!(inner, p.message());
            assert_eq!(inner, normalized(data).as_slice());
            let batch = data.starts_with(b"FHS") || data.starts_with(b"BHS");
            assert!(batch || data.starts_with(b"MSH"));
            assert_eq!(p.control_id.is_none(), batch);
            if let Some(id) = &p.control_id {
                assert_eq!(id, &msh10(inner, encoding), "control id is not MSH-10 of the message");
            }
        }
        Err(e) => assert_eq!(e.code(), "INVALID_INPUT", "{e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let utf8 = prepare_bytes(data, Encoding::UTF8);
    check(data, Encoding::UTF8, &utf8);
    let latin1 = prepare_bytes(data, Encoding::LATIN1);
    check(data, Encoding::LATIN1, &latin1);
    // The encoding changes only how MSH-10 is read, never the bytes or the verdict.
    match (&utf8, &latin1) {
        (Ok(a), Ok(b)) => assert_eq!(a.frame, b.frame),
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!("the encoding changed the verdict: {utf8:?} vs {latin1:?}"),
    }
    // The same bytes as text: UTF-8 text goes through unchanged, Latin-1 maps byte for byte.
    if let Ok(text) = std::str::from_utf8(data) {
        assert_eq!(prepare_text(text, Encoding::UTF8), utf8);
    }
    let chars: String = data.iter().map(|&b| b as char).collect();
    assert_eq!(prepare_text(&chars, Encoding::LATIN1), latin1);
});
