//! The outgoing-message checks on arbitrary bytes (and on the same bytes as a UTF-8 or
//! Latin-1 string). Invariants: no panic; an error is `INVALID_INPUT`; an Ok frame is
//! 0x0B + message + 0x1C 0x0D with no other block byte and no `\n`, its message is the input
//! with `\r\n`/`\n` turned into `\r`, and the control id is `None` exactly for FHS/BHS.
#![no_main]

use glion_mllp_client::frame::{CARRIAGE_RETURN, END_BLOCK, START_BLOCK};
use glion_mllp_client::message::{prepare_bytes, prepare_text, Encoding};
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

fuzz_target!(|data: &[u8]| {
    let prepared = prepare_bytes(data, Encoding::Utf8);
    match &prepared {
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
                assert_eq!(id.as_str(), id.trim());
            }
        }
        Err(e) => assert_eq!(e.code(), "INVALID_INPUT", "{e}"),
    }
    // The same bytes as text: UTF-8 text goes through unchanged, Latin-1 maps byte for byte.
    if let Ok(text) = std::str::from_utf8(data) {
        assert_eq!(prepare_text(text, Encoding::Utf8), prepared);
    }
    let latin1: String = data.iter().map(|&b| b as char).collect();
    assert_eq!(prepare_text(&latin1, Encoding::Latin1), prepared);
});
