//! The MLLP frame decoder on arbitrary bytes, fed whole and in an arbitrary chunking.
//!
//! Input layout: byte 0 picks `maxFrameBytes`, bytes 1..=4 seed the chunk sizes, the rest is
//! the stream. Invariants: no panic; every `decode` call makes progress and never reports
//! more bytes than it was given; every frame is at most `maxFrameBytes` and holds no block
//! byte; the frames plus their block bytes fit in the input; and the outcome (frames, then
//! the error code or the end-of-stream kind) is the same however the stream is chunked.
#![no_main]

use glion_mllp_client::frame::{FrameDecoder, END_BLOCK, START_BLOCK};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    frames: Vec<Vec<u8>>,
    end: String,
}

/// Feed `stream` in the chunks `sizes` yields; collect frames until an error or the end.
fn run(stream: &[u8], max: usize, mut sizes: impl FnMut() -> usize) -> Outcome {
    let mut dec = FrameDecoder::new(max);
    let mut frames = Vec::new();
    let mut at = 0;
    while at < stream.len() {
        let size = sizes().clamp(1, stream.len() - at);
        let mut rest = &stream[at..at + size];
        at += size;
        while !rest.is_empty() {
            match dec.decode(rest) {
                Ok((used, frame)) => {
                    assert!(used <= rest.len(), "decode consumed {used} of {} bytes", rest.len());
                    assert!(used > 0, "decode made no progress on {} bytes", rest.len());
                    if frame.is_none() {
                        assert_eq!(used, rest.len(), "decode stopped early without a frame");
                    }
                    frames.extend(frame);
                    rest = &rest[used..];
                }
                Err(e) => return Outcome { frames, end: e.code().to_string() },
            }
        }
    }
    let idle = dec.is_idle();
    let end = match dec.decode_eof() {
        Ok(Some(frame)) => {
            frames.push(frame);
            "frame".to_string()
        }
        Ok(None) => {
            assert!(idle, "a clean end of stream while inside a frame");
            "clean".to_string()
        }
        Err(e) => e.code().to_string(),
    };
    Outcome { frames, end }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 5 {
        return;
    }
    // Small caps reach the limit often; a set top bit means "the 1 MiB default".
    let max = if data[0] & 0x80 != 0 { 1 << 20 } else { usize::from(data[0]) };
    let mut seed = u32::from_le_bytes([data[1], data[2], data[3], data[4]]) | 1;
    let stream = &data[5..];

    let whole = run(stream, max, || usize::MAX);
    let chunked = run(stream, max, || {
        // xorshift32: sizes 1..=64, mostly small, so block bytes land on chunk edges.
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        1 + (seed as usize % if seed & 0x100 != 0 { 64 } else { 4 })
    });
    let bytewise = run(stream, max, || 1);

    let mut framed = 0usize;
    for frame in &whole.frames {
        assert!(frame.len() <= max, "a frame of {} bytes passed maxFrameBytes {max}", frame.len());
        assert!(!frame.contains(&START_BLOCK) && !frame.contains(&END_BLOCK), "block byte inside a frame");
        framed += frame.len() + 2; // at least 0x0B and 0x1C around each
    }
    assert!(framed <= stream.len(), "frames ({framed} bytes with blocks) exceed the input ({})", stream.len());
    assert!(
        ["clean", "frame", "MALFORMED_FRAME", "CONNECTION_CLOSED"].contains(&whole.end.as_str()),
        "unexpected end {:?}",
        whole.end
    );
    assert_eq!(whole, chunked, "whole and chunked decoding differ");
    assert_eq!(whole, bytewise, "whole and byte-by-byte decoding differ");
});
