//! Invariants of the Rust ACK parser. Its equality with `@glion/ack`'s parseAck is proved by
//! the differential test `__test__/ack-differential.test.js` (fast-check, both parsers on the
//! same generated text); these check, on the Rust side alone, the rules both follow
//! (docs/ARCHITECTURE.md "ACK parsing").

use glion_mllp_client::ack::{parse_ack, Ack};
use proptest::prelude::*;

/// Every field but `raw` (the invariants change the text, not what it says).
fn fields(ack: &Ack) -> Ack {
    Ack {
        raw: String::new(),
        ..ack.clone()
    }
}

fn code() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["AA", "AE", "AR", "CA", "CE", "CR"])
}

/// Field text with HL7 escapes, non-ASCII and Unicode spaces, but no delimiter of its own.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "a", "Patient", " ", "\t", "\u{a0}", "\u{feff}", "é", "😀", "\\F\\", "\\S\\", "\\E\\",
            "\\X41\\", "\\H\\", "\\",
        ]),
        0..6,
    )
    .prop_map(|parts| parts.concat())
}

/// An ERR segment in the v2.5 layout, the v2.3 layout, or a mix.
fn err() -> impl Strategy<Value = String> {
    (
        0..3u8,
        text(),
        text(),
        text(),
        prop::sample::select(vec!["", "E", "W"]),
        text(),
    )
        .prop_map(
            |(layout, code, err_text, location, severity, user)| match layout {
                0 => format!("ERR||{location}|{code}^{err_text}^HL70357|{severity}||||{user}"),
                1 => format!("ERR|PID^1^{location}^{code}&{err_text}&HL70357"),
                _ => format!("ERR|PID^1^3^{code}|{location}|{err_text}|{severity}||||{user}"),
            },
        )
}

/// A plain ACK: MSH, MSA, some ERR segments; with its control id.
fn plain_ack() -> impl Strategy<Value = (String, String)> {
    (
        code(),
        "[A-Z0-9]{1,10}",
        prop::option::of(text()),
        prop::collection::vec(err(), 0..3),
    )
        .prop_map(|(code, id, msa3, errs)| {
            let mut segments = vec!["MSH|^~\\&|R|F|S|F|20240101||ACK^A01^ACK|A1|P|2.5".to_string()];
            segments.push(match msa3 {
                Some(t) => format!("MSA|{code}|{id}|{t}"),
                None => format!("MSA|{code}|{id}"),
            });
            segments.extend(errs);
            (segments.join("\r"), id)
        })
}

proptest! {
    #[test]
    fn never_panics_on_any_text(raw in "(?s).{0,200}") {
        let _ = parse_ack(&raw);
    }

    #[test]
    fn never_panics_on_ack_shaped_text(raw in "(MSH|BHS|FHS)[|#😀]([\\^~\\\\&|#]{0,5})([A-Z0-9|^~\\\\&#\r\n ]{0,60})(\r(MSA|ERR|MSH|BTS)[|#]([A-Z0-9|^~\\\\&# \t]{0,30})){0,5}") {
        let _ = parse_ack(&raw);
    }

    #[test]
    fn plain_acks_are_read((raw, id) in plain_ack()) {
        let ack = parse_ack(&raw).unwrap();
        prop_assert_eq!(&ack.control_id, &id);
        prop_assert_eq!(ack.errors.len(), raw.matches("\rERR|").count());
        prop_assert_eq!(ack.error_code.as_ref(), ack.errors.first().and_then(|e| e.error_code.as_ref()));
    }

    #[test]
    fn line_ends_do_not_matter((raw, _id) in plain_ack(), end in prop::sample::select(vec!["\n", "\r\n", "\r\r", "\n\n\r"]), trailing in any::<bool>()) {
        let mut other = raw.replace('\r', end);
        if trailing {
            other.push_str(end);
        }
        prop_assert_eq!(fields(&parse_ack(&other).unwrap()), fields(&parse_ack(&raw).unwrap()));
    }

    #[test]
    fn blanks_around_msa1_and_msa2_are_dropped((raw, _id) in plain_ack(), pads in prop::collection::vec("[ \t]{0,3}", 4)) {
        let mut segments: Vec<String> = raw.split('\r').map(str::to_string).collect();
        let mut msa: Vec<String> = segments[1].split('|').map(str::to_string).collect();
        msa[1] = format!("{}{}{}", pads[0], msa[1], pads[1]);
        msa[2] = format!("{}{}{}", pads[2], msa[2], pads[3]);
        segments[1] = msa.join("|");
        let padded = segments.join("\r");
        prop_assert_eq!(fields(&parse_ack(&padded).unwrap()), fields(&parse_ack(&raw).unwrap()));
    }

    #[test]
    fn other_spaces_around_msa1_are_data((raw, _id) in plain_ack(), space in prop::sample::select(vec!["\u{a0}", "\u{feff}", "\u{3000}", "\u{85}", "\u{2003}"])) {
        let spaced = raw.replacen("MSA|", &format!("MSA|{space}"), 1);
        prop_assert_eq!(parse_ack(&spaced).unwrap_err().code(), "MALFORMED_ACK");
    }

    #[test]
    fn a_leading_bom_is_skipped((raw, _id) in plain_ack(), blank in prop::sample::select(vec!["", "\r", "\r\n\n"])) {
        let with_bom = format!("{blank}\u{feff}{raw}");
        let ack = parse_ack(&with_bom).unwrap();
        prop_assert_eq!(&ack.raw, &with_bom);
        prop_assert_eq!(fields(&ack), fields(&parse_ack(&raw).unwrap()));
    }

    #[test]
    fn a_batch_of_acks_is_decided_by_its_first_message(
        (first, _id) in plain_ack(),
        rest in prop::collection::vec(plain_ack(), 0..3),
        file in any::<bool>(),
    ) {
        let mut batch = String::new();
        if file {
            batch.push_str("FHS|^~\\&|R|F\r");
        }
        batch.push_str("BHS|^~\\&|R|F\r");
        batch.push_str(&first);
        for (other, _) in &rest {
            batch.push('\r');
            batch.push_str(other);
        }
        batch.push_str(&format!("\rBTS|{}", rest.len() + 1));
        if file {
            batch.push_str("\rFTS|1");
        }
        let ack = parse_ack(&batch).unwrap();
        prop_assert_eq!(&ack.raw, &batch);
        prop_assert_eq!(fields(&ack), fields(&parse_ack(&first).unwrap()));
    }
}

/// The hot path, measured (not a check): `cargo test --release --no-default-features --test
/// ack_properties -- --ignored --nocapture hot_path`. `bench/ack-parse.js` measures
/// `parseAck` on the same ACK; README "ACK parsing: one set of rules" has the numbers.
#[test]
#[ignore]
fn hot_path() {
    let raw = "MSH|^~\\&|RECEIVER|FACILITY|SENDER|FACILITY|20260510120001||ACK^A01^ACK|ACK00001|P|2.5\rMSA|AE|MSG00001|Patient not found\rERR||PID^3|204^Unknown key identifier^HL70357|E";
    for (name, text) in [
        (
            "AA",
            "MSH|^~\\&|RECEIVER|FACILITY|SENDER|FACILITY|20260510120001||ACK^A01^ACK|ACK00001|P|2.5\rMSA|AA|MSG00001",
        ),
        ("AE + ERR", raw),
    ] {
        let rounds = 1_000_000;
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(parse_ack(std::hint::black_box(text)).unwrap());
        }
        let ns = start.elapsed().as_nanos() as f64 / rounds as f64;
        println!("rust parse_ack, {name} ({} bytes): {ns:.0} ns", text.len());
    }
}
