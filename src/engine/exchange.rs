//! One exchange as a state machine: Waiting (for a pool slot) -> Connecting -> Writing ->
//! Reading -> done. The driver tells it what happened (connected, wrote n bytes, read n
//! bytes, end of stream, an I/O error, the deadline passed, abort) and it answers what it
//! wants next ([`Want`]) and by when ([`Exchange::deadline`]). Every rule about `sent`, the
//! timeout of each phase and its error text, the ACK checks, enhanced mode and whether the
//! connection may carry another message is here, once.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::ack::{parse_ack, Ack};
use crate::error::{Failure, MllpError};
use crate::frame::FrameReader;
use crate::message::{Encoding, Prepared};
use crate::tls::TlsSettings;
use crate::transport::{
    closed_before_ack, connect_error, connect_timeout_error, read_timeout_error,
    write_timeout_error,
};

/// Everything a client needs, validated and built once at construction.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub host: String,
    pub port: u16,
    pub tls: Option<TlsSettings>,
    pub connect_timeout: Duration,
    pub ack_timeout: Duration,
    pub encoding: Encoding,
    pub max_frame_bytes: usize,
    pub verify_control_id: bool,
}

/// Parse an ACK frame and, when `expected` is given, check MSA-2 against the message's MSH-10.
pub fn ack_from_frame(
    frame: &[u8],
    encoding: Encoding,
    expected: Option<&str>,
) -> Result<Ack, MllpError> {
    let ack = parse_ack(&encoding.decode(frame))?;
    let Some(expected) = expected else {
        return Ok(ack);
    };
    // A receiver that rejects a message it could not parse may leave MSA-2 empty; the
    // NAK itself is then the more useful answer.
    if ack.control_id == expected || (ack.control_id.is_empty() && !ack.code.is_positive()) {
        return Ok(ack);
    }
    Err(MllpError::MalformedAck(format!(
        "ACK control id (MSA-2) {:?} does not match the message control id (MSH-10) {expected:?}",
        ack.control_id
    )))
}

/// How a deadline is named in errors, e.g. "ackTimeout (10000 ms)".
pub fn timeout_text(ack_timeout: Duration) -> String {
    format!("ackTimeout ({} ms)", ack_timeout.as_millis())
}

/// How the exchange ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `send()`: the first ACK frame is the answer (a `CA` too).
    Send,
    /// `stream()`: every frame until the final one (`CA`, then `AA`/`AE`/`AR`).
    Stream,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Start,
    /// For a pool slot; with connecting, bounded by one `connectTimeout`.
    Waiting,
    Connecting,
    Writing,
    Reading,
    /// The deadline passed while reading: what is already buffered is read first.
    Draining,
    Done,
}

/// What the exchange wants the driver to do next.
#[derive(Debug)]
pub enum Want {
    /// Wait for a pool slot (until [`Exchange::deadline`]).
    Slot,
    /// Open a connection (TCP, and TLS when configured), then call `connected`.
    Connect,
    /// Write [`Exchange::unwritten`], then call `wrote` with the count. Under TLS, report the
    /// last bytes only once they are flushed to the socket.
    Write,
    /// Read into [`Exchange::read_buf`], then call `read`, `eof` or `failed`.
    Read,
    /// The deadline passed: read, without waiting, whatever the socket already holds
    /// (`read`/`eof`/`failed`), then call `drained`. An ACK that arrived by its deadline is
    /// delivered even when the driver's thread was too busy to read it in time.
    Drain,
    /// The reused connection never reached the receiver: close it, open a fresh one and
    /// call `connected` (the message is written again from its first byte).
    Reconnect,
    /// The receiver closed a reused connection before anything came back: wait until
    /// [`Exchange::deadline`] (without watching the socket), then call `deadline_reached`.
    /// A reset may still be on its way (see `eof`).
    AwaitReset,
    /// Look whether the socket holds a reset now (`SO_ERROR` EPIPE/ECONNRESET) and call
    /// `reset_check`.
    CheckReset,
    /// An intermediate ACK (`CA`) of a stream; call `resume` for the next frame.
    Ack(Ack),
    /// Finished. Give the connection back with [`Exchange::take_reusable`].
    Done(Result<Ack, Failure>),
}

/// TLS alerts with which a server refuses the client's certificate.
fn is_certificate_refusal(error: &io::Error) -> bool {
    use rustls::AlertDescription as A;
    matches!(
        error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>()),
        Some(rustls::Error::AlertReceived(
            A::BadCertificate
                | A::CertificateRequired
                | A::UnknownCA
                | A::CertificateUnknown
                | A::CertificateExpired
                | A::CertificateRevoked
                | A::UnsupportedCertificate
                | A::AccessDenied
                | A::HandshakeFailure
        ))
    )
}

/// What a write to, or read from, a connection the receiver had already closed fails with.
fn is_reset(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
    )
}

pub struct Exchange {
    settings: Arc<ClientSettings>,
    message: Prepared,
    ack_timeout: Duration,
    mode: Mode,
    phase: Phase,
    /// Waiting for a slot and connecting share this one.
    connect_deadline: Instant,
    deadline: Instant,
    written: usize,
    reader: Option<FrameReader>,
    /// On a pooled connection that carried an earlier exchange.
    reused: bool,
    /// TLS 1.3 on a connection opened for this exchange.
    tls13_fresh: bool,
    /// Any byte read from the receiver in this exchange.
    read_any: bool,
    /// Ended on its final ACK with nothing left over: the connection may be reused.
    clean_end: bool,
    /// After an end of stream on a reused connection: waiting for a reset that may follow.
    awaiting_reset: bool,
}

/// How long an end of stream on a reused connection, before any byte came back, waits for
/// a reset to follow (our bytes reaching the closed socket): on a loaded machine the kernel
/// may deliver the receiver's FIN to our read before it processes the reset.
pub const RESET_GRACE: Duration = Duration::from_millis(20);

impl Exchange {
    /// A send that starts at `now` (its `connectTimeout` runs from here).
    pub fn new(
        settings: Arc<ClientSettings>,
        message: Prepared,
        ack_timeout: Duration,
        mode: Mode,
        now: Instant,
    ) -> Exchange {
        let connect_deadline = now + settings.connect_timeout;
        Exchange {
            settings,
            message,
            ack_timeout,
            mode,
            phase: Phase::Start,
            connect_deadline,
            deadline: connect_deadline,
            written: 0,
            reader: None,
            reused: false,
            tls13_fresh: false,
            read_any: false,
            clean_end: false,
            awaiting_reset: false,
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// When the current phase times out (call `deadline_reached` then).
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Every byte of the message was written: the receiver may have it.
    pub fn is_sent(&self) -> bool {
        self.written >= self.total()
    }

    fn total(&self) -> usize {
        self.message.frame.len()
    }

    /// The frame bytes not written yet.
    pub fn unwritten(&self) -> &[u8] {
        &self.message.frame[self.written.min(self.total())..]
    }

    /// Where the next read goes.
    pub fn read_buf(&mut self) -> &mut [u8] {
        let max = self.settings.max_frame_bytes;
        self.reader
            .get_or_insert_with(|| FrameReader::new(max))
            .spare()
    }

    /// Every slot of the pool is busy: wait for one (within `connectTimeout`).
    pub fn wait_for_slot(&mut self) -> Want {
        self.phase = Phase::Waiting;
        self.deadline = self.connect_deadline;
        Want::Slot
    }

    /// No connection to reuse: open one (the `connectTimeout` that began at `new` runs on).
    pub fn connect(&mut self) -> Want {
        self.phase = Phase::Connecting;
        self.deadline = self.connect_deadline;
        Want::Connect
    }

    /// An idle pooled connection (it passed the stale check), with its frame reader.
    pub fn reuse(&mut self, reader: FrameReader, now: Instant) -> Want {
        self.reused = true;
        self.reader = Some(reader);
        self.begin_write(now)
    }

    /// The connection is up (and its TLS handshake done; `tls13`: the version agreed).
    pub fn connected(&mut self, tls13: bool, now: Instant) -> Want {
        self.tls13_fresh = tls13;
        self.begin_write(now)
    }

    /// `ackTimeout` runs from the start of the write: a receiver that never reads cannot
    /// make the client buffer forever.
    fn begin_write(&mut self, now: Instant) -> Want {
        self.phase = Phase::Writing;
        self.deadline = now + self.ack_timeout;
        self.after_write()
    }

    /// Opening the connection failed (`error` says how, with the connect texts of
    /// `transport.rs`). Nothing was sent.
    pub fn connect_failed(&mut self, error: MllpError) -> Want {
        self.done(Err(Failure::unsent(error)))
    }

    /// `n` more bytes were written.
    pub fn wrote(&mut self, n: usize) -> Want {
        if self.phase != Phase::Writing {
            return self.stray();
        }
        if n == 0 {
            let error = MllpError::from_io(&io::ErrorKind::WriteZero.into(), "writing the message");
            return self.done(Err(Failure::unsent(error)));
        }
        self.written += n;
        self.after_write()
    }

    fn after_write(&mut self) -> Want {
        if self.is_sent() {
            self.phase = Phase::Reading;
            Want::Read
        } else {
            Want::Write
        }
    }

    /// `n` bytes (n > 0) were read into `read_buf`.
    pub fn read(&mut self, n: usize, now: Instant) -> Want {
        if !matches!(self.phase, Phase::Reading | Phase::Draining) {
            return self.stray();
        }
        self.read_any = true;
        if let Some(reader) = &mut self.reader {
            reader.filled(n);
        }
        self.next_frame(now)
    }

    /// After an intermediate ACK of a stream: the next frame (it may be buffered already).
    pub fn resume(&mut self, now: Instant) -> Want {
        match self.phase {
            Phase::Reading => self.next_frame(now),
            _ => self.stray(),
        }
    }

    fn next_frame(&mut self, now: Instant) -> Want {
        let frame = match self.reader.as_mut().map(FrameReader::next_frame) {
            Some(Ok(Some(frame))) => frame,
            Some(Err(error)) => return self.done(Err(Failure::sent(error))),
            _ if self.phase == Phase::Draining => return Want::Drain,
            _ => return Want::Read,
        };
        self.answer(&frame, now)
    }

    fn answer(&mut self, frame: &[u8], now: Instant) -> Want {
        let settings = &self.settings;
        let expected = self
            .message
            .control_id
            .as_deref()
            .filter(|_| settings.verify_control_id);
        match ack_from_frame(frame, self.message.encoding, expected) {
            Err(error) => self.done(Err(Failure::sent(error))),
            Ok(ack) if ack.code.is_intermediate() && self.mode == Mode::Stream => {
                // The final ACK gets a fresh ackTimeout from here.
                self.phase = Phase::Reading;
                self.deadline = now + self.ack_timeout;
                Want::Ack(ack)
            }
            Ok(ack) => {
                let clean = !ack.code.is_intermediate()
                    && self.reader.as_ref().is_some_and(FrameReader::is_clean);
                let want = self.done(Ok(ack));
                self.clean_end = clean;
                want
            }
        }
    }

    /// The receiver closed the stream. `peer_reset`: the socket also holds a reset
    /// (`SO_ERROR` is EPIPE/ECONNRESET), i.e. our bytes reached a socket already closed.
    pub fn eof(&mut self, peer_reset: bool, now: Instant) -> Want {
        match self.phase {
            Phase::Writing => self.failed(io::ErrorKind::UnexpectedEof.into(), now),
            Phase::Reading | Phase::Draining => {
                if peer_reset && self.never_reached_receiver() {
                    return self.reconnect(now);
                }
                if self.never_reached_receiver() && !self.awaiting_reset {
                    self.awaiting_reset = true;
                    self.deadline = now + RESET_GRACE;
                    return Want::AwaitReset;
                }
                self.eof_final(now)
            }
            _ => self.stray(),
        }
    }

    /// After `Want::CheckReset`: whether the socket holds a reset now.
    pub fn reset_check(&mut self, peer_reset: bool, now: Instant) -> Want {
        if !self.awaiting_reset {
            return self.stray();
        }
        if peer_reset {
            self.awaiting_reset = false;
            return self.reconnect(now);
        }
        self.eof_final(now)
    }

    /// The end of stream stands: a frame missing only its final byte, or closed before an ACK.
    fn eof_final(&mut self, now: Instant) -> Want {
        match self.phase {
            Phase::Reading | Phase::Draining => match self.reader.as_mut().map(FrameReader::eof) {
                Some(Ok(Some(frame))) => self.answer(&frame, now),
                Some(Err(error)) => self.done(Err(Failure::sent(error))),
                _ => self.done(Err(Failure::sent(closed_before_ack()))),
            },
            _ => self.stray(),
        }
    }

    /// An I/O error on the connection.
    pub fn failed(&mut self, error: io::Error, now: Instant) -> Want {
        let settings = &self.settings;
        match self.phase {
            Phase::Waiting | Phase::Connecting | Phase::Start => {
                let error = connect_error(&settings.host, settings.port, &error);
                self.done(Err(Failure::unsent(error)))
            }
            Phase::Writing if is_reset(&error) && self.reused => self.reconnect(now),
            Phase::Writing => self.done(Err(Failure::unsent(MllpError::from_io(
                &error,
                "writing the message",
            )))),
            Phase::Reading | Phase::Draining => {
                if error.kind() == io::ErrorKind::ConnectionReset && self.never_reached_receiver() {
                    return self.reconnect(now);
                }
                // Under TLS 1.3 the client finishes its handshake first and the server
                // refuses its certificate afterwards: that alert arrives on the first read,
                // and a receiver that refused the session cannot have the message. Any other
                // TLS error after the whole message was written may come after the receiver
                // read it.
                let refused = self.tls13_fresh && !self.read_any && is_certificate_refusal(&error);
                let error = MllpError::from_io(&error, "reading");
                self.done(Err(if refused {
                    Failure::unsent(error)
                } else {
                    Failure::sent(error)
                }))
            }
            Phase::Done => self.stray(),
        }
    }

    /// A reused connection, and nothing came back yet: a reset now means the receiver had
    /// closed it before our bytes arrived (Linux answers bytes that reach a closed socket,
    /// or a socket closed with unread data, with a reset). It never read the message.
    fn never_reached_receiver(&self) -> bool {
        self.reused && !self.read_any
    }

    /// Send again, once, on a fresh connection (`reused` is cleared, so never twice).
    fn reconnect(&mut self, now: Instant) -> Want {
        self.reused = false;
        self.awaiting_reset = false;
        self.written = 0;
        self.reader = None;
        self.phase = Phase::Connecting;
        self.connect_deadline = now + self.settings.connect_timeout;
        self.deadline = self.connect_deadline;
        Want::Reconnect
    }

    /// The deadline of the current phase passed.
    pub fn deadline_reached(&mut self) -> Want {
        if self.awaiting_reset && matches!(self.phase, Phase::Reading | Phase::Draining) {
            return Want::CheckReset;
        }
        let settings = &self.settings;
        let what = timeout_text(self.ack_timeout);
        let failure = match self.phase {
            Phase::Start | Phase::Waiting => Failure::unsent(MllpError::Timeout(format!(
                "no pooled connection became free within connectTimeout ({} ms)",
                settings.connect_timeout.as_millis()
            ))),
            Phase::Connecting => Failure::unsent(connect_timeout_error(
                &settings.host,
                settings.port,
                settings.tls.is_some(),
                settings.connect_timeout,
            )),
            Phase::Writing => Failure::unsent(write_timeout_error(&what)),
            Phase::Reading => {
                self.phase = Phase::Draining;
                return Want::Drain;
            }
            Phase::Draining => Failure::sent(read_timeout_error(&what)),
            Phase::Done => return self.stray(),
        };
        self.done(Err(failure))
    }

    /// Nothing more was buffered after the deadline: now it is a timeout.
    pub fn drained(&mut self) -> Want {
        match self.phase {
            Phase::Draining => self.deadline_reached(),
            _ => self.stray(),
        }
    }

    /// The caller's AbortSignal fired: close the connection now.
    pub fn abort(&mut self) -> Want {
        self.done(Err(Failure::unsent(MllpError::Aborted)))
    }

    fn done(&mut self, outcome: Result<Ack, Failure>) -> Want {
        self.phase = Phase::Done;
        self.clean_end = false;
        Want::Done(outcome)
    }

    /// An event the current phase does not expect (a late wake-up): nothing to do.
    fn stray(&self) -> Want {
        match self.phase {
            Phase::Waiting => Want::Slot,
            Phase::Connecting => Want::Connect,
            Phase::Writing => Want::Write,
            Phase::Reading | Phase::Draining if self.awaiting_reset => Want::AwaitReset,
            Phase::Reading => Want::Read,
            Phase::Draining => Want::Drain,
            Phase::Start | Phase::Done => Want::Done(Err(Failure::unsent(MllpError::ConnectionClosed(
                "internal error in the MLLP client (please report): event after the exchange ended".into(),
            )))),
        }
    }

    /// After `Done`: the frame reader to keep with the connection when it may carry another
    /// message (ended cleanly on its final ACK, nothing left over); `None`: close it.
    pub fn take_reusable(&mut self) -> Option<FrameReader> {
        if self.phase == Phase::Done && self.clean_end {
            self.clean_end = false;
            self.reader.take()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests;
