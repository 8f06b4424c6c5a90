//! MLLP framing: `0x0B` message `0x1C 0x0D`.
//!
//! The decoder is a resumable state machine (it never rescans bytes it has seen) with a cap
//! on frame length, in the manner of tokio-util's `LinesCodec`. The rules are written out in
//! docs/ARCHITECTURE.md and checked by `__test__/vectors/frames.json`.

use crate::error::MllpError;

pub const START_BLOCK: u8 = 0x0B;
pub const END_BLOCK: u8 = 0x1C;
pub const CARRIAGE_RETURN: u8 = 0x0D;

/// Frame `message` for the wire, in one allocation.
pub fn encode_frame(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 3);
    out.push(START_BLOCK);
    out.extend_from_slice(message);
    out.push(END_BLOCK);
    out.push(CARRIAGE_RETURN);
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between frames: padding is skipped, `0x0B` opens a frame.
    Outside,
    /// Inside a frame, collecting content.
    Inside,
    /// Saw `0x1C`; a `0x0D` must follow.
    AfterEnd,
}

/// Bytes real receivers put between frames (keep-alive padding, stray line ends).
fn is_padding(byte: u8) -> bool {
    matches!(byte, 0x00 | 0x0D | 0x0A | 0x20 | 0x09)
}

/// What bytes outside a frame are, starting with the first stray one: HTTP and TLS answers
/// are named (a receiver on the wrong port, or one that expects TLS), anything else is shown
/// as its first byte. `ack/wire.js` writes the same messages (vectors: frames.json).
fn stray_bytes(bytes: &[u8]) -> String {
    const HINT: &str = "not MLLP";
    if bytes.starts_with(b"HTTP/") {
        let line: String = bytes
            .iter()
            .take_while(|&&b| b != b'\r' && b != b'\n')
            .take(60)
            .map(|&b| char::from(b))
            .collect();
        return format!("the receiver answered with HTTP ({line:?}), {HINT}: wrong port?");
    }
    if matches!(bytes, [0x15 | 0x16, 0x03, ..]) {
        return format!(
            "the receiver answered with a TLS record (0x{:02X} 0x03), {HINT}: it expects TLS (tls: false is set) or this is the wrong port?",
            bytes[0]
        );
    }
    format!(
        "unexpected byte 0x{:02X} outside an MLLP frame (expected 0x0B)",
        bytes[0]
    )
}

#[derive(Debug)]
pub struct FrameDecoder {
    max_frame_bytes: usize,
    state: State,
    content: Vec<u8>,
}

impl FrameDecoder {
    pub fn new(max_frame_bytes: usize) -> FrameDecoder {
        FrameDecoder {
            max_frame_bytes,
            state: State::Outside,
            content: Vec::new(),
        }
    }

    /// True when the decoder is between frames (nothing partial is held).
    pub fn is_idle(&self) -> bool {
        self.state == State::Outside
    }

    /// Consume bytes of `input` until one frame completes or `input` is used up. Returns
    /// how many bytes were consumed and the frame's content if one completed; the caller
    /// passes the rest of its buffer on the next call.
    pub fn decode(&mut self, input: &[u8]) -> Result<(usize, Option<Vec<u8>>), MllpError> {
        let mut at = 0;
        while at < input.len() {
            match self.state {
                State::Outside => {
                    let byte = input[at];
                    at += 1;
                    if byte == START_BLOCK {
                        self.state = State::Inside;
                        self.content.clear();
                    } else if !is_padding(byte) {
                        return Err(MllpError::MalformedFrame(stray_bytes(&input[at - 1..])));
                    }
                }
                State::Inside => {
                    let rest = &input[at..];
                    let stop = memchr::memchr2(END_BLOCK, START_BLOCK, rest);
                    let take = stop.unwrap_or(rest.len());
                    if self.content.len() + take > self.max_frame_bytes {
                        return Err(MllpError::MalformedFrame(format!(
                            "ACK frame exceeds maxFrameBytes ({} bytes)",
                            self.max_frame_bytes
                        )));
                    }
                    self.content.extend_from_slice(&rest[..take]);
                    at += take;
                    match stop.map(|i| rest[i]) {
                        Some(END_BLOCK) => {
                            at += 1;
                            self.state = State::AfterEnd;
                        }
                        Some(_) => {
                            return Err(MllpError::MalformedFrame(
                                "start block 0x0B inside an unfinished MLLP frame".into(),
                            ))
                        }
                        None => {}
                    }
                }
                State::AfterEnd => {
                    let byte = input[at];
                    if byte != CARRIAGE_RETURN {
                        return Err(MllpError::MalformedFrame(format!(
                            "byte 0x{byte:02X} after end block 0x1C (expected 0x0D)"
                        )));
                    }
                    at += 1;
                    self.state = State::Outside;
                    return Ok((at, Some(std::mem::take(&mut self.content))));
                }
            }
        }
        Ok((at, None))
    }

    /// The peer closed the stream. Returns a frame whose final `0x0D` never came, nothing on
    /// a clean end, and `ConnectionClosed` when the stream ended inside a frame.
    pub fn decode_eof(&mut self) -> Result<Option<Vec<u8>>, MllpError> {
        match self.state {
            State::Outside => Ok(None),
            State::AfterEnd => {
                self.state = State::Outside;
                Ok(Some(std::mem::take(&mut self.content)))
            }
            State::Inside => Err(MllpError::ConnectionClosed(
                "the receiver closed the connection in the middle of an ACK frame".into(),
            )),
        }
    }
}

/// How many bytes one read asks the socket for.
pub const READ_CHUNK: usize = 16 * 1024;

/// A read buffer in front of a `FrameDecoder`, shared by every transport: fill
/// `spare()` from the socket, report the count with `filled()`, take frames with `next()`.
#[derive(Debug)]
pub struct FrameReader {
    decoder: FrameDecoder,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl FrameReader {
    pub fn new(max_frame_bytes: usize) -> FrameReader {
        FrameReader {
            decoder: FrameDecoder::new(max_frame_bytes),
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
        }
    }

    /// Nothing buffered and no partial frame: the connection may carry another exchange.
    pub fn is_clean(&self) -> bool {
        self.start == self.end && self.decoder.is_idle()
    }

    /// The next whole frame from what was read so far, or `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, MllpError> {
        while self.start < self.end {
            let (used, frame) = self.decoder.decode(&self.buf[self.start..self.end])?;
            self.start += used;
            if frame.is_some() {
                return Ok(frame);
            }
        }
        Ok(None)
    }

    /// Where the next read goes. Call only after `next()` returned `None` (all consumed).
    pub fn spare(&mut self) -> &mut [u8] {
        self.start = 0;
        self.end = 0;
        &mut self.buf
    }

    /// `n` bytes were read into `spare()`.
    pub fn filled(&mut self, n: usize) {
        self.end = n;
    }

    /// The peer closed the stream: a frame whose final `0x0D` never came, or nothing.
    pub fn eof(&mut self) -> Result<Option<Vec<u8>>, MllpError> {
        self.decoder.decode_eof()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feed `input` in chunks of `step` bytes; collect frames until an error or the end.
    fn feed(input: &[u8], step: usize, max: usize) -> (Vec<Vec<u8>>, Result<(), MllpError>) {
        let mut dec = FrameDecoder::new(max);
        let mut frames = Vec::new();
        for chunk in input.chunks(step.max(1)) {
            let mut rest = chunk;
            while !rest.is_empty() {
                match dec.decode(rest) {
                    Ok((n, frame)) => {
                        frames.extend(frame);
                        rest = &rest[n..];
                    }
                    Err(e) => return (frames, Err(e)),
                }
            }
        }
        match dec.decode_eof() {
            Ok(frame) => frames.extend(frame),
            Err(e) => return (frames, Err(e)),
        }
        (frames, Ok(()))
    }

    #[test]
    fn one_frame_whole_and_byte_by_byte() {
        let wire = b"\x0bMSH|^~\\&|A\rMSA|AA|1\r\x1c\x0d";
        for step in [1, 2, 3, wire.len()] {
            let (frames, end) = feed(wire, step, 1024);
            assert_eq!(end, Ok(()));
            assert_eq!(
                frames,
                vec![b"MSH|^~\\&|A\rMSA|AA|1\r".to_vec()],
                "step {step}"
            );
        }
    }

    #[test]
    fn decode_stops_after_each_frame() {
        let mut dec = FrameDecoder::new(64);
        let wire = b"\x0bA\x1c\x0d\x0bB\x1c\x0d";
        let (n, f) = dec.decode(wire).unwrap();
        assert_eq!((n, f), (4, Some(b"A".to_vec())));
        let (n, f) = dec.decode(&wire[4..]).unwrap();
        assert_eq!((n, f), (4, Some(b"B".to_vec())));
        assert!(dec.is_idle());
    }

    #[test]
    fn padding_skipped_garbage_refused() {
        let (frames, end) = feed(b"\0\r\n \t\x0bA\x1c\x0d\r\n", 1, 64);
        assert_eq!(frames, vec![b"A".to_vec()]);
        assert_eq!(end, Ok(()));
        let (frames, end) = feed(b"HTTP/1.1 400", 1, 64);
        assert!(frames.is_empty());
        assert_eq!(end.unwrap_err().code(), "MALFORMED_FRAME");
    }

    #[test]
    fn cap_counts_content_bytes_only() {
        let (frames, end) = feed(b"\x0b1234\x1c\x0d", 1, 4);
        assert_eq!((frames.len(), end), (1, Ok(())));
        let (frames, end) = feed(b"\x0b12345\x1c\x0d", 1, 4);
        assert!(frames.is_empty());
        assert_eq!(end.unwrap_err().code(), "MALFORMED_FRAME");
    }

    #[test]
    fn cap_fires_before_the_end_block_arrives() {
        let mut dec = FrameDecoder::new(8);
        assert!(dec.decode(b"\x0b12345678").is_ok());
        assert_eq!(dec.decode(b"9").unwrap_err().code(), "MALFORMED_FRAME");
    }

    #[test]
    fn end_of_stream_rules() {
        assert_eq!(feed(b"\x0bA\x1c", 1, 8), (vec![b"A".to_vec()], Ok(())));
        let (frames, end) = feed(b"\x0bA", 1, 8);
        assert!(frames.is_empty());
        assert_eq!(end.unwrap_err().code(), "CONNECTION_CLOSED");
        assert_eq!(feed(b"", 1, 8), (vec![], Ok(())));
    }

    #[test]
    fn end_block_must_be_followed_by_cr() {
        let (frames, end) = feed(b"\x0bA\x1cX", 1, 8);
        assert!(frames.is_empty());
        assert_eq!(end.unwrap_err().code(), "MALFORMED_FRAME");
        let (_, end) = feed(b"\x0bA\x0bB\x1c\x0d", 1, 8);
        assert_eq!(end.unwrap_err().code(), "MALFORMED_FRAME");
    }

    #[test]
    fn encode_wraps_in_block_bytes() {
        assert_eq!(encode_frame(b"MSH|"), b"\x0bMSH|\x1c\x0d".to_vec());
    }

    /// `FrameReader` over a stream cut into `step`-byte reads, as a socket would deliver it.
    fn read_all(input: &[u8], step: usize) -> (Vec<Vec<u8>>, bool) {
        let mut reader = FrameReader::new(1 << 20);
        let mut frames = Vec::new();
        for chunk in input.chunks(step) {
            while let Some(frame) = reader.next_frame().unwrap() {
                frames.push(frame);
            }
            let spare = reader.spare();
            spare[..chunk.len()].copy_from_slice(chunk);
            reader.filled(chunk.len());
        }
        while let Some(frame) = reader.next_frame().unwrap() {
            frames.push(frame);
        }
        (frames, reader.is_clean())
    }

    #[test]
    fn reader_yields_every_frame_whatever_the_read_sizes() {
        let input = b"\x0bA|1\x1c\r\x0bB|2\x1c\r\x0bC|3\x1c\r";
        for step in 1..=input.len() {
            let (frames, clean) = read_all(input, step);
            assert_eq!(
                frames,
                vec![b"A|1".to_vec(), b"B|2".to_vec(), b"C|3".to_vec()],
                "step {step}"
            );
            assert!(clean, "step {step}");
        }
    }

    #[test]
    fn reader_is_not_clean_with_a_partial_frame_or_unread_bytes() {
        let (frames, clean) = read_all(b"\x0bA|1\x1c\r\x0bB", 64);
        assert_eq!(frames, vec![b"A|1".to_vec()]);
        assert!(!clean);
        let mut reader = FrameReader::new(64);
        reader.spare()[..5].copy_from_slice(b"\x0bA\x1c\r\x0b");
        reader.filled(5);
        assert_eq!(reader.next_frame().unwrap(), Some(b"A".to_vec()));
        assert!(!reader.is_clean());
        // 0x1C then the end of the stream still gives the frame.
        let mut reader = FrameReader::new(64);
        reader.spare()[..3].copy_from_slice(b"\x0bZ\x1c");
        reader.filled(3);
        assert_eq!(reader.next_frame().unwrap(), None);
        assert_eq!(reader.eof().unwrap(), Some(b"Z".to_vec()));
    }
}
