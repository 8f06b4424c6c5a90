//! Scripted event sequences, no sockets: one test per rule of docs/ARCHITECTURE.md "The send
//! engine" and per field defect of issue 12.

use super::*;
use crate::message::prepare_text;

const MSG: &str = "MSH|^~\\&|S|F|R|F|20260510120000||ADT^A01|MSG1|P|2.5\rPID|1";

fn settings(tls: bool) -> Arc<ClientSettings> {
    let tls = tls.then(|| {
        crate::tls::client_settings(
            &crate::tls::TlsOptions {
                insecure: true,
                ..Default::default()
            },
            "localhost",
        )
        .unwrap()
    });
    Arc::new(ClientSettings {
        host: "127.0.0.1".into(),
        port: 2575,
        tls,
        connect_timeout: Duration::from_millis(1000),
        ack_timeout: Duration::from_millis(500),
        encoding: Encoding::UTF8,
        max_frame_bytes: 1 << 20,
        verify_control_id: true,
    })
}

fn exchange(mode: Mode, now: Instant) -> Exchange {
    Exchange::new(
        settings(false),
        prepare_text(MSG, Encoding::UTF8).unwrap(),
        Duration::from_millis(500),
        mode,
        now,
    )
}

fn ack_frame(code: &str, id: &str) -> Vec<u8> {
    format!("\x0bMSH|^~\\&|R|F|S|F|20260510120001||ACK|A1|P|2.5\rMSA|{code}|{id}\x1c\r")
        .into_bytes()
}

/// Feed `bytes` as one read.
fn feed(ex: &mut Exchange, bytes: &[u8], now: Instant) -> Want {
    let buf = ex.read_buf();
    buf[..bytes.len()].copy_from_slice(bytes);
    ex.read(bytes.len(), now)
}

/// Connect and write the whole frame in one go.
fn written(ex: &mut Exchange, now: Instant) {
    assert!(matches!(ex.connect(), Want::Connect));
    assert!(matches!(ex.connected(false, now), Want::Write));
    let total: usize = ex.unwritten().len();
    assert!(matches!(ex.wrote(total), Want::Read));
}

fn failure(want: Want) -> Failure {
    match want {
        Want::Done(Err(f)) => f,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn sent_only_once_every_byte_is_written() {
    let now = Instant::now();
    let mut ex = exchange(Mode::Send, now);
    ex.connect();
    ex.connected(false, now);
    assert!(matches!(ex.wrote(5), Want::Write));
    assert!(!ex.is_sent());
    assert_eq!(ex.unwritten().len(), MSG.len() + 3 - 5);
    let f = failure(ex.failed(io::ErrorKind::BrokenPipe.into(), now));
    assert!(!f.sent, "a write error before the last byte is not sent");
    assert_eq!(f.error.code(), "CONNECTION_CLOSED");
}

#[test]
fn each_phase_times_out_with_its_own_text_and_sent_flag() {
    let now = Instant::now();
    let mut ex = exchange(Mode::Send, now);
    assert!(matches!(ex.wait_for_slot(), Want::Slot));
    let f = failure(ex.deadline_reached());
    assert!(
        !f.sent
            && f.error
                .to_string()
                .contains("no pooled connection became free")
    );

    let mut ex = exchange(Mode::Send, now);
    ex.connect();
    assert_eq!(ex.deadline(), now + Duration::from_millis(1000));
    let f = failure(ex.deadline_reached());
    assert!(!f.sent && f.error.to_string().contains("connectTimeout (1000 ms)"));

    let mut ex = exchange(Mode::Send, now);
    ex.connect();
    ex.connected(false, now);
    assert_eq!(ex.deadline(), now + Duration::from_millis(500));
    let f = failure(ex.deadline_reached());
    assert!(
        !f.sent
            && f.error
                .to_string()
                .contains("did not take the whole message within ackTimeout (500 ms)")
    );

    let mut ex = exchange(Mode::Send, now);
    written(&mut ex, now);
    assert!(matches!(ex.deadline_reached(), Want::Drain));
    let f = failure(ex.drained());
    assert!(
        f.sent
            && f.error
                .to_string()
                .contains("no complete ACK frame within ackTimeout (500 ms)")
    );
}

#[test]
fn defect_5_slot_wait_and_connect_share_one_connect_timeout() {
    let t0 = Instant::now();
    let mut ex = exchange(Mode::Send, t0);
    ex.wait_for_slot();
    // The slot comes free 800 ms later: connecting gets what is left, not a new 1000 ms.
    let _ = t0 + Duration::from_millis(800);
    assert!(matches!(ex.connect(), Want::Connect));
    assert_eq!(ex.deadline(), t0 + Duration::from_millis(1000));
}

#[test]
fn defect_3_drain_before_deciding_an_ack_buffered_by_the_deadline_is_delivered() {
    let now = Instant::now();
    let mut ex = exchange(Mode::Send, now);
    written(&mut ex, now);
    assert!(matches!(ex.deadline_reached(), Want::Drain));
    match feed(&mut ex, &ack_frame("AA", "MSG1"), now) {
        Want::Done(Ok(ack)) => assert_eq!(ack.control_id, "MSG1"),
        other => panic!("{other:?}"),
    }
    // Part of a frame only: still a timeout once nothing more is buffered.
    let mut ex = exchange(Mode::Send, now);
    written(&mut ex, now);
    ex.deadline_reached();
    assert!(matches!(feed(&mut ex, b"\x0bMSH|", now), Want::Drain));
    assert!(failure(ex.drained()).sent);
}

#[test]
fn ack_checks_msa2_and_mismatch_is_sent_malformed_ack() {
    let now = Instant::now();
    let mut ex = exchange(Mode::Send, now);
    written(&mut ex, now);
    let f = failure(feed(&mut ex, &ack_frame("AA", "OTHER"), now));
    assert!(f.sent);
    assert_eq!(f.error.code(), "MALFORMED_ACK");
    assert!(
        ex.take_reusable().is_none(),
        "a mismatch drops the connection"
    );
}

#[test]
fn a_clean_final_ack_leaves_the_connection_reusable_and_leftovers_do_not() {
    let now = Instant::now();
    let mut ex = exchange(Mode::Send, now);
    written(&mut ex, now);
    assert!(matches!(
        feed(&mut ex, &ack_frame("AE", "MSG1"), now),
        Want::Done(Ok(_))
    ));
    assert!(
        ex.take_reusable().is_some(),
        "a NAK ends the exchange cleanly"
    );

    let mut ex = exchange(Mode::Send, now);
    written(&mut ex, now);
    let mut bytes = ack_frame("AA", "MSG1");
    bytes.extend_from_slice(b"\x0bMSH");
    assert!(matches!(feed(&mut ex, &bytes, now), Want::Done(Ok(_))));
    assert!(
        ex.take_reusable().is_none(),
        "bytes after the ACK: not reusable"
    );
}

#[test]
fn enhanced_mode_ca_then_final_with_a_fresh_ack_timeout() {
    let t0 = Instant::now();
    let mut ex = exchange(Mode::Stream, t0);
    written(&mut ex, t0);
    let t1 = t0 + Duration::from_millis(400);
    let mut both = ack_frame("CA", "MSG1");
    both.extend_from_slice(&ack_frame("AA", "MSG1"));
    match feed(&mut ex, &both, t1) {
        Want::Ack(ack) => assert_eq!(ack.code.as_str(), "CA"),
        other => panic!("{other:?}"),
    }
    assert_eq!(ex.deadline(), t1 + Duration::from_millis(500));
    assert!(matches!(ex.resume(t1), Want::Done(Ok(ack)) if ack.code.as_str() == "AA"));

    // send(): the CA is the answer, and the connection is not reused (the AA is still due).
    let mut ex = exchange(Mode::Send, t0);
    written(&mut ex, t0);
    assert!(matches!(
        feed(&mut ex, &ack_frame("CA", "MSG1"), t0),
        Want::Done(Ok(_))
    ));
    assert!(ex.take_reusable().is_none());
}

#[test]
fn eof_before_an_ack_is_connection_closed_sent() {
    let now = Instant::now();
    let mut ex = exchange(Mode::Send, now);
    written(&mut ex, now);
    let f = failure(ex.eof(false, now));
    assert!(f.sent);
    assert_eq!(f.error.code(), "CONNECTION_CLOSED");
    // A frame missing only its final 0x0D is accepted at end of stream.
    let mut ex = exchange(Mode::Send, now);
    written(&mut ex, now);
    let frame = ack_frame("AA", "MSG1");
    assert!(matches!(
        feed(&mut ex, &frame[..frame.len() - 1], now),
        Want::Read
    ));
    assert!(matches!(ex.eof(false, now), Want::Done(Ok(_))));
}

fn reused(now: Instant) -> Exchange {
    let mut ex = exchange(Mode::Send, now);
    assert!(matches!(
        ex.reuse(FrameReader::new(1 << 20), now),
        Want::Write
    ));
    ex
}

#[test]
fn defect_2_a_reused_connection_the_receiver_had_closed_is_retried_once_on_a_fresh_one() {
    let now = Instant::now();
    // The write fails: EPIPE / ECONNRESET.
    for kind in [io::ErrorKind::BrokenPipe, io::ErrorKind::ConnectionReset] {
        let mut ex = reused(now);
        assert!(matches!(ex.failed(kind.into(), now), Want::Reconnect));
        assert_eq!(
            ex.unwritten().len(),
            MSG.len() + 3,
            "written again from the first byte"
        );
        assert!(matches!(ex.connected(false, now), Want::Write));
    }
    // The read gets a reset before any ACK byte.
    let mut ex = reused(now);
    let total: usize = ex.unwritten().len();
    ex.wrote(total);
    assert!(matches!(
        ex.failed(io::ErrorKind::ConnectionReset.into(), now),
        Want::Reconnect
    ));
    // Only once: on the fresh connection the same error is an ordinary failure.
    ex.connected(false, now);
    let total: usize = ex.unwritten().len();
    ex.wrote(total);
    assert!(failure(ex.failed(io::ErrorKind::ConnectionReset.into(), now)).sent);
    // End of stream with a reset behind it: our bytes reached a closed socket.
    let mut ex = reused(now);
    ex.wrote(total);
    assert!(matches!(ex.eof(true, now), Want::Reconnect));
}

#[test]
fn defect_2_a_clean_eof_on_a_reused_connection_stays_sent() {
    let now = Instant::now();
    let mut ex = reused(now);
    let total: usize = ex.unwritten().len();
    ex.wrote(total);
    // A reset may still follow the FIN: wait RESET_GRACE, then look again.
    assert!(matches!(ex.eof(false, now), Want::AwaitReset));
    assert_eq!(ex.deadline(), now + super::RESET_GRACE);
    assert!(matches!(ex.deadline_reached(), Want::CheckReset));
    let f = failure(ex.reset_check(false, now));
    assert!(f.sent, "the receiver may have read it");
    // The reset came during the grace: the receiver never read it.
    let mut ex = reused(now);
    ex.wrote(total);
    ex.eof(false, now);
    ex.deadline_reached();
    assert!(matches!(ex.reset_check(true, now), Want::Reconnect));
    // A reset on a fresh connection is never retried.
    let mut ex = exchange(Mode::Send, now);
    written(&mut ex, now);
    assert!(failure(ex.eof(true, now)).sent);
}

fn tls_error(error: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error)
}

#[test]
fn defect_4_only_a_certificate_refusal_on_the_first_tls13_read_is_unsent() {
    use rustls::AlertDescription as A;
    let now = Instant::now();
    let start = |tls13: bool| {
        let mut ex = Exchange::new(
            settings(true),
            prepare_text(MSG, Encoding::UTF8).unwrap(),
            Duration::from_millis(500),
            Mode::Send,
            now,
        );
        ex.connect();
        ex.connected(tls13, now);
        let total: usize = ex.unwritten().len();
        ex.wrote(total);
        ex
    };
    for alert in [
        A::BadCertificate,
        A::CertificateRequired,
        A::UnknownCA,
        A::HandshakeFailure,
        A::AccessDenied,
    ] {
        let f = failure(start(true).failed(tls_error(rustls::Error::AlertReceived(alert)), now));
        assert!(!f.sent, "{alert:?} on the first TLS 1.3 read");
        assert_eq!(f.error.code(), "TLS_ERROR");
    }
    // Under TLS 1.2 the refusal comes in the handshake; here it is after the receiver read.
    assert!(
        failure(start(false).failed(
            tls_error(rustls::Error::AlertReceived(A::BadCertificate)),
            now
        ))
        .sent
    );
    // Any other TLS error after the whole message was written: sent.
    for error in [
        rustls::Error::DecryptError,
        rustls::Error::AlertReceived(A::DecodeError),
        rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
    ] {
        assert!(
            failure(start(true).failed(tls_error(error.clone()), now)).sent,
            "{error:?}"
        );
    }
    // A refusal after ACK bytes were read: sent.
    let mut ex = start(true);
    assert!(matches!(feed(&mut ex, b"\x0bMSH", now), Want::Read));
    assert!(
        failure(ex.failed(
            tls_error(rustls::Error::AlertReceived(A::BadCertificate)),
            now
        ))
        .sent
    );
}

#[test]
fn abort_is_aborted_and_connect_failures_are_unsent() {
    let now = Instant::now();
    let mut ex = exchange(Mode::Send, now);
    written(&mut ex, now);
    assert_eq!(failure(ex.abort()).error, MllpError::Aborted);
    let mut ex = exchange(Mode::Send, now);
    ex.connect();
    let f = failure(ex.failed(io::ErrorKind::ConnectionRefused.into(), now));
    assert!(!f.sent);
    assert_eq!(f.error.code(), "CONNECTION_REFUSED");
}

#[test]
fn a_malformed_frame_after_the_write_is_sent() {
    let now = Instant::now();
    let mut ex = exchange(Mode::Send, now);
    written(&mut ex, now);
    let f = failure(feed(&mut ex, b"junk", now));
    assert!(f.sent);
    assert_eq!(f.error.code(), "MALFORMED_FRAME");
}
