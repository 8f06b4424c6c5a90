//! The shared JSON vectors (`__test__/vectors/`), run against the Rust core. The same files
//! are run by `@glion/ack`'s JS tests, so both implementations follow one set of rules.
//! Frames are fed whole and one byte at a time, in the manner of tokio-util's codec tests.

use glion_mllp_client::ack::parse_ack;
use glion_mllp_client::frame::FrameDecoder;
use glion_mllp_client::message::{prepare_bytes, prepare_text, Encoding};
use serde_json::Value;

fn cases(file: &str) -> Vec<Value> {
    let path = format!("{}/__test__/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["cases"].as_array().unwrap().clone()
}

/// A Latin-1 string of the vector files as the bytes it stands for.
fn bytes(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("byte strings hold chars 0..=255"))
        .collect()
}

fn opt(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// Decode `input` in chunks of `step`; frames, then the error code or the end-of-stream kind.
fn run_decoder(input: &[u8], step: usize, max: usize) -> (Vec<Vec<u8>>, String) {
    let mut dec = FrameDecoder::new(max);
    let mut frames = Vec::new();
    for chunk in input.chunks(step) {
        let mut rest = chunk;
        while !rest.is_empty() {
            match dec.decode(rest) {
                Ok((used, frame)) => {
                    frames.extend(frame);
                    rest = &rest[used..];
                }
                Err(e) => return (frames, e.code().to_string()),
            }
        }
    }
    let before = frames.len();
    match dec.decode_eof() {
        Ok(Some(frame)) => {
            frames.push(frame);
            (frames, "frame".into())
        }
        Ok(None) => {
            assert_eq!(before, frames.len());
            (frames, "clean".into())
        }
        Err(e) if e.code() == "CONNECTION_CLOSED" => (frames, "truncated".into()),
        Err(e) => (frames, e.code().to_string()),
    }
}

#[test]
fn frame_vectors() {
    for case in cases("frames.json") {
        let name = case["name"].as_str().unwrap();
        let input = bytes(case["input"].as_str().unwrap());
        let max = case["maxFrameBytes"].as_u64().unwrap_or(1024 * 1024) as usize;
        let want_frames: Vec<Vec<u8>> = case["frames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| bytes(f.as_str().unwrap()))
            .collect();
        let want_end = match case["error"].as_str() {
            Some(code) => code.to_string(),
            None => case["eof"].as_str().unwrap().to_string(),
        };
        for step in [input.len().max(1), 1, 2, 7] {
            let (frames, end) = run_decoder(&input, step, max);
            assert_eq!(frames, want_frames, "{name} (chunks of {step}): frames");
            assert_eq!(end, want_end, "{name} (chunks of {step}): end");
        }
        if let Some(want) = case["messageIncludes"].as_str() {
            // the error's text, with the input read whole
            let mut dec = FrameDecoder::new(max);
            let mut rest = input.as_slice();
            let message = loop {
                match dec.decode(rest) {
                    Ok((used, _)) => rest = &rest[used..],
                    Err(e) => break e.to_string(),
                }
                assert!(!rest.is_empty(), "{name}: no error");
            };
            assert!(
                message.contains(want),
                "{name}: {message:?} does not contain {want:?}"
            );
        }
    }
}

#[test]
fn ack_vectors() {
    for case in cases("ack.json") {
        let name = case["name"].as_str().unwrap();
        let raw = case["raw"].as_str().unwrap();
        let result = parse_ack(raw);
        if let Some(code) = case["error"].as_str() {
            assert_eq!(
                result.map(|a| a.code).map_err(|e| e.code()),
                Err(code),
                "{name}"
            );
            continue;
        }
        let ack = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = &case["ack"];
        assert_eq!(
            ack.code.as_str(),
            want["code"].as_str().unwrap(),
            "{name}: code"
        );
        assert_eq!(
            ack.control_id,
            want["controlId"].as_str().unwrap(),
            "{name}: controlId"
        );
        assert_eq!(ack.message, opt(&want["message"]), "{name}: message");
        assert_eq!(ack.error_code, opt(&want["errorCode"]), "{name}: errorCode");
        assert_eq!(ack.severity, opt(&want["severity"]), "{name}: severity");
        assert_eq!(ack.raw, raw, "{name}: raw");
        let errors = want["errors"].as_array().unwrap();
        assert_eq!(
            ack.errors.len(),
            errors.len(),
            "{name}: number of ERR entries"
        );
        for (got, want) in ack.errors.iter().zip(errors) {
            assert_eq!(
                got.error_code,
                opt(&want["errorCode"]),
                "{name}: errors[].errorCode"
            );
            assert_eq!(
                got.error_text,
                opt(&want["errorText"]),
                "{name}: errors[].errorText"
            );
            assert_eq!(
                got.severity,
                opt(&want["severity"]),
                "{name}: errors[].severity"
            );
            assert_eq!(
                got.location,
                opt(&want["location"]),
                "{name}: errors[].location"
            );
        }
    }
}

#[test]
fn message_vectors() {
    for case in cases("messages.json") {
        let name = case["name"].as_str().unwrap();
        let input = case["input"].as_str().unwrap();
        let encoding = Encoding::parse(case["encoding"].as_str().unwrap_or("utf8")).unwrap();
        let result = match case["inputKind"].as_str().unwrap() {
            "bytes" => prepare_bytes(&bytes(input), encoding),
            _ => prepare_text(input, encoding),
        };
        if let Some(code) = case["error"].as_str() {
            assert_eq!(
                result.map(|p| p.frame).map_err(|e| e.code()),
                Err(code),
                "{name}"
            );
            continue;
        }
        let prepared = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            prepared.message(),
            bytes(case["wire"].as_str().unwrap()).as_slice(),
            "{name}: wire bytes"
        );
        assert_eq!(
            prepared.control_id,
            opt(&case["controlId"]),
            "{name}: controlId"
        );
    }
}
