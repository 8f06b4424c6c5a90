//! The sending side: one connection per exchange, one framed message out, ACK frames in.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::ack::{parse_ack, Ack};
use crate::error::{Failure, MllpError};
use crate::message::{Encoding, Prepared};
use crate::tls::TlsSettings;
use crate::transport::{connect, Connection};

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

/// One message's exchange: the open connection and what the ACKs must match.
pub struct Exchange {
    conn: Connection,
    control_id: Option<String>,
    encoding: Encoding,
    verify_control_id: bool,
    /// When the next ACK frame must have arrived.
    deadline: Instant,
    finished: bool,
    /// Whether any ACK read was attempted yet (a TLS refusal on the first is not "sent").
    read_any: bool,
    /// An error happened: the connection's state is unknown and it must not be reused.
    failed: bool,
}

/// Open a connection (TCP, and TLS when configured) within `connectTimeout`.
pub async fn connect_to(settings: &ClientSettings) -> Result<Connection, Failure> {
    let stream = connect(
        &settings.host,
        settings.port,
        settings.tls.as_ref(),
        settings.connect_timeout,
    )
    .await?;
    Ok(Connection::new(stream, settings.max_frame_bytes))
}

/// Connect, write the framed message, and return the exchange ready to read ACKs.
pub async fn open(
    settings: &ClientSettings,
    message: &Prepared,
    ack_timeout: Duration,
) -> Result<Exchange, Failure> {
    start(connect_to(settings).await?, settings, message, ack_timeout).await
}

/// Write the framed message on `conn`. `ack_timeout` runs from the start of the write: a
/// receiver that never reads cannot make the client buffer forever.
pub async fn start(
    mut conn: Connection,
    settings: &ClientSettings,
    message: &Prepared,
    ack_timeout: Duration,
) -> Result<Exchange, Failure> {
    let deadline = Instant::now() + ack_timeout;
    conn.write_parts(message.wire_parts(), deadline, &timeout_text(ack_timeout))
        .await?;
    Ok(Exchange {
        conn,
        control_id: message.control_id.clone(),
        encoding: message.encoding,
        verify_control_id: settings.verify_control_id,
        deadline,
        finished: false,
        read_any: false,
        failed: false,
    })
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

impl Exchange {
    /// The next ACK frame, parsed and checked; `None` once the final ACK was read. After an
    /// intermediate `CA` the next frame gets a fresh `ack_timeout`. Every error here has
    /// `sent: true`: the message is on the wire.
    pub async fn next_ack(&mut self, ack_timeout: Duration) -> Result<Option<Ack>, Failure> {
        if self.finished {
            return Ok(None);
        }
        let result = self.read_ack(ack_timeout).await;
        let first = !self.read_any;
        self.read_any = true;
        match &result {
            Ok(ack) if ack.code.is_intermediate() => self.deadline = Instant::now() + ack_timeout,
            Ok(_) => self.finished = true,
            Err(_) => (self.finished, self.failed) = (true, true),
        }
        result.map(Some).map_err(|error| match error {
            // Under TLS 1.3 the client finishes its handshake first and the server refuses
            // its certificate afterwards: the alert arrives on this first read, and the
            // receiver never accepted the session, so it cannot have the message.
            MllpError::Tls(_) if first => Failure::unsent(error),
            _ => Failure::sent(error),
        })
    }

    async fn read_ack(&mut self, ack_timeout: Duration) -> Result<Ack, MllpError> {
        let frame = self
            .conn
            .read_frame(self.deadline, &timeout_text(ack_timeout))
            .await?;
        let expected = self
            .control_id
            .as_deref()
            .filter(|_| self.verify_control_id);
        ack_from_frame(&frame, self.encoding, expected)
    }

    pub fn close(self) {
        self.conn.close_in_background();
    }

    /// The connection back, for a pool, when this exchange ended cleanly on its final ACK
    /// with nothing left over; otherwise `None` (and the connection is closed).
    pub fn into_reusable(self) -> Option<Connection> {
        if self.finished && !self.failed && self.conn.is_clean() {
            Some(self.conn)
        } else {
            self.conn.close_in_background();
            None
        }
    }
}

/// `send()`: one connection, one frame out, the first ACK frame in, connection closed.
pub async fn send(
    settings: &ClientSettings,
    message: &Prepared,
    ack_timeout: Duration,
) -> Result<Ack, Failure> {
    let mut exchange = open(settings, message, ack_timeout).await?;
    let ack = exchange.next_ack(ack_timeout).await?;
    exchange.close();
    ack.ok_or_else(|| Failure::sent(MllpError::ConnectionClosed("no ACK frame".into())))
}

/// A cancel switch shared between the JS thread (AbortSignal, stream `return()`) and the
/// future it stops. Dropping the future closes the connection.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<CancelInner>);

#[derive(Debug, Default)]
struct CancelInner {
    cancelled: AtomicBool,
    notify: Notify,
}

impl CancelToken {
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    async fn cancelled(&self) {
        loop {
            let notified = self.0.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }

    /// Run `fut` unless and until the token is cancelled.
    pub async fn run<T>(
        &self,
        fut: impl Future<Output = Result<T, Failure>>,
    ) -> Result<T, Failure> {
        tokio::select! {
            biased;
            _ = self.cancelled() => Err(Failure::unsent(MllpError::Aborted)),
            result = fut => result,
        }
    }
}
