//! `parse_ack` on arbitrary text: the bytes as the client would decode them (UTF-8, lossy,
//! and Latin-1). Invariants: no panic; an error is `MALFORMED_ACK`; a parsed ACK has one of
//! the six known codes, keeps `raw` as given, has trimmed `controlId`, and its
//! `errorCode`/`severity` are those of `errors[0]`.
#![no_main]

use glion_mllp_client::ack::{parse_ack, AckCode};
use glion_mllp_client::message::Encoding;
use libfuzzer_sys::fuzz_target;

fn check(raw: &str) {
    match parse_ack(raw) {
        Ok(ack) => {
            let code = ack.code.as_str();
            assert!(["AA", "AE", "AR", "CA", "CE", "CR"].contains(&code), "unknown code {code}");
            assert_eq!(AckCode::parse(code), Some(ack.code));
            assert_eq!(ack.raw, raw);
            assert_eq!(ack.control_id, ack.control_id.trim());
            assert!(raw.trim_start_matches(['\r', '\n']).starts_with("MSH"));
            let first = ack.errors.first();
            assert_eq!(ack.error_code, first.and_then(|e| e.error_code.clone()));
            assert_eq!(ack.severity, first.and_then(|e| e.severity.clone()));
            assert_ne!(ack.message.as_deref(), Some(""));
        }
        Err(e) => assert_eq!(e.code(), "MALFORMED_ACK", "{e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    check(&Encoding::UTF8.decode(data));
    check(&Encoding::LATIN1.decode(data));
});
