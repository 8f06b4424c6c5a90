//! Inputs that the fuzz targets (`fuzz/`) found failing, kept as regression cases. Each test
//! names the target and the artifact it came from; fuzz/README.md lists the findings.

use glion_mllp_client::message::{prepare_bytes, prepare_text, Encoding};

/// message_checks, crash-a4f07b0902211d1d8687dda5c74cb6ec7ccc5740: with `encoding: "latin1"`
/// MSH-10 was read as UTF-8 (lossy), so a non-ASCII control id became U+FFFD and never
/// matched its echo in MSA-2, which the client reads as Latin-1. Fixed: MSH-10 is read with
/// the client's encoding.
#[test]
fn latin1_control_id_is_read_as_latin1() {
    let input: &[u8] = &[
        0x4d, 0x53, 0x48, 0xff, 0xff, 0xff, 0xff, 0x1d, 0xff, 0xff, 0xff, 0xff, 0xff, 0x20, 0x09,
        0x09, 0x09, 0x09, 0xf6,
    ];
    let chars: String = input.iter().map(|&b| b as char).collect();
    let from_text = prepare_text(&chars, Encoding::Latin1).unwrap();
    let from_bytes = prepare_bytes(input, Encoding::Latin1).unwrap();
    assert_eq!(from_text, from_bytes);
    assert!(
        from_text.control_id.as_deref().unwrap().starts_with('ö'),
        "{:?}",
        from_text.control_id
    );

    let p = prepare_text(
        "MSH|^~\\&|S|F|R|F|20260101||ADT^A01|MSGé1|P|2.5\rPID|1",
        Encoding::Latin1,
    )
    .unwrap();
    assert_eq!(p.control_id.as_deref(), Some("MSGé1"));
    let p = prepare_bytes(
        b"MSH|^~\\&|S|F|R|F|20260101||ADT^A01|MSG\xe91|P|2.5\rPID|1",
        Encoding::Latin1,
    )
    .unwrap();
    assert_eq!(p.control_id.as_deref(), Some("MSGé1"));
}

/// message_checks, crash-46a0174221002079c8234ef6018d1fee7b29113b (minimized: `MSH` and nine
/// 0xFF field separators): when MSH-10 is the last thing in the message (one segment, no
/// trailing CR), the control id is read from the frame instead of the message and takes the
/// end block 0x1C with it: `MSH|...|ADT^A01|MSG1` expects MSA-2 `"MSG1\u{1c}"`, so every ACK
/// was MALFORMED_ACK. Fixed: MSH-10 is now read from the message inside the frame.
#[test]
fn control_id_at_the_end_of_the_message_excludes_the_end_block() {
    let minimized: &[u8] = &[
        0x4d, 0x53, 0x48, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ];
    for encoding in [Encoding::Utf8, Encoding::Latin1] {
        assert_eq!(
            prepare_bytes(minimized, encoding)
                .unwrap()
                .control_id
                .as_deref(),
            Some("")
        );
        let p = prepare_bytes(b"MSH|^~\\&|S|F|R|F|20260101||ADT^A01|MSG1", encoding).unwrap();
        assert_eq!(p.control_id.as_deref(), Some("MSG1"));
        let p = prepare_text("MSH|^~\\&|S|F|R|F|20260101||ADT^A01| MSG2 ", encoding).unwrap();
        assert_eq!(p.control_id.as_deref(), Some("MSG2"));
    }
    // With a trailing CR (or a later segment) it was always right.
    let p = prepare_bytes(
        b"MSH|^~\\&|S|F|R|F|20260101||ADT^A01|MSG1\r",
        Encoding::Utf8,
    )
    .unwrap();
    assert_eq!(p.control_id.as_deref(), Some("MSG1"));
}
