//! Connections: TCP (optionally wrapped in TLS) with a connect deadline, and a framed
//! reader/writer on top. Knows nothing about HL7; `client.rs` and `receiver.rs` build on it.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{timeout, timeout_at, Instant};

use crate::error::MllpError;
use crate::frame::FrameReader;
use crate::tls::TlsSettings;

/// Plain TCP or TLS over TCP, client or server side.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    ServerTls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

macro_rules! each_stream {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.get_mut() {
            Stream::Plain($s) => $e,
            Stream::Tls($s) => $e,
            Stream::ServerTls($s) => $e,
        }
    };
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        each_stream!(self, s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        each_stream!(self, s => Pin::new(s).poll_write(cx, buf))
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        each_stream!(self, s => Pin::new(s).poll_write_vectored(cx, bufs))
    }
    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
            Stream::ServerTls(s) => s.is_write_vectored(),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_stream!(self, s => Pin::new(s).poll_flush(cx))
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_stream!(self, s => Pin::new(s).poll_shutdown(cx))
    }
}

/// Open TCP (and TLS when `tls` is set); the caller bounds it with its deadline.
pub async fn open_stream(
    host: &str,
    port: u16,
    tls: Option<&TlsSettings>,
) -> Result<Stream, MllpError> {
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(|e| connect_error(host, port, &e))?;
    // ACKs are small and latency-bound: never wait for Nagle.
    let _ = tcp.set_nodelay(true);
    match tls {
        None => Ok(Stream::Plain(tcp)),
        Some(tls) => {
            let connector = tokio_rustls::TlsConnector::from(tls.config.clone());
            let stream = connector
                .connect(tls.server_name.clone(), tcp)
                .await
                .map_err(|e| {
                    let reason = e
                        .get_ref()
                        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                        .map(|tls| tls.to_string())
                        .unwrap_or_else(|| format!("{e} (is the receiver speaking TLS?)"));
                    MllpError::Tls(format!("TLS handshake with {host}:{port} failed: {reason}"))
                })?;
            Ok(Stream::Tls(Box::new(stream)))
        }
    }
}

/// Open TCP (and TLS when `tls` is set) within `deadline`.
pub async fn connect(
    host: &str,
    port: u16,
    tls: Option<&TlsSettings>,
    deadline: Duration,
) -> Result<Stream, MllpError> {
    match timeout(deadline, open_stream(host, port, tls)).await {
        Ok(result) => result,
        Err(_) => Err(connect_timeout_error(host, port, tls.is_some(), deadline)),
    }
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(tcp) => tcp,
            Stream::Tls(tls) => tls.get_ref().0,
            Stream::ServerTls(tls) => tls.get_ref().0,
        }
    }

    /// A client TLS session that agreed on TLS 1.3 (the version whose certificate refusal
    /// arrives after the client's handshake is done).
    pub fn is_tls13(&self) -> bool {
        match self {
            Stream::Tls(tls) => {
                tls.get_ref().1.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3)
            }
            _ => false,
        }
    }

    /// After the peer's end of stream: whether the socket also holds a reset (EPIPE or
    /// ECONNRESET in `SO_ERROR`), i.e. our bytes reached a socket that was already closed.
    pub fn peer_reset(&self) -> bool {
        matches!(
            self.tcp().take_error(),
            Ok(Some(e)) if matches!(e.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset)
        )
    }

    /// True when an idle connection can no longer be trusted: the peer closed it, reset it,
    /// or sent bytes nobody asked for (a late ACK must never answer the next message).
    pub fn is_stale(&self) -> bool {
        let mut probe = [0u8; 1];
        let mut buf = ReadBuf::new(&mut probe);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        !matches!(self.tcp().poll_peek(&mut cx, &mut buf), Poll::Pending)
    }

    /// Close politely (TLS close_notify, TCP FIN) without making the caller wait.
    pub fn close_in_background(mut self) {
        if let Stream::Plain(_) = self {
            return; // dropping sends FIN at once
        }
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = timeout(Duration::from_secs(1), self.shutdown()).await;
            });
        }
    }
}

/// A TCP connect that failed (every transport reports it the same way).
pub fn connect_error(host: &str, port: u16, e: &io::Error) -> MllpError {
    match e.kind() {
        // Accepted, then reset before the connect completed on our side: the receiver
        // was there and closed on us.
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => {
            MllpError::ConnectionClosed(format!(
                "{host}:{port} reset the connection as it opened: {e}"
            ))
        }
        _ => MllpError::ConnectionRefused(format!("cannot connect to {host}:{port}: {e}")),
    }
}

pub fn connect_timeout_error(host: &str, port: u16, tls: bool, limit: Duration) -> MllpError {
    MllpError::Timeout(format!(
        "connecting to {host}:{port}{} took longer than connectTimeout ({} ms)",
        if tls { " (TCP + TLS handshake)" } else { "" },
        limit.as_millis()
    ))
}

/// `what` names the deadline, e.g. "ackTimeout (10000 ms)".
pub fn write_timeout_error(what: &str) -> MllpError {
    MllpError::Timeout(format!(
        "the receiver did not take the whole message within {what}"
    ))
}

pub fn read_timeout_error(what: &str) -> MllpError {
    MllpError::Timeout(format!("no complete ACK frame within {what}"))
}

pub fn closed_before_ack() -> MllpError {
    MllpError::ConnectionClosed(
        "the receiver closed the connection before sending an ACK frame".into(),
    )
}

/// A stream with an MLLP frame reader: write framed bytes, read whole frames.
pub struct Connection {
    stream: Stream,
    reader: FrameReader,
}

impl Connection {
    pub fn new(stream: Stream, max_frame_bytes: usize) -> Connection {
        Connection {
            stream,
            reader: FrameReader::new(max_frame_bytes),
        }
    }

    /// Nothing buffered and no partial frame: the connection may carry another exchange.
    pub fn is_clean(&self) -> bool {
        self.reader.is_clean()
    }

    /// Write all of `bytes` and flush, by `deadline`. `what` names the deadline for the message.
    pub async fn write_all(
        &mut self,
        bytes: &[u8],
        deadline: Instant,
        what: &str,
    ) -> Result<(), MllpError> {
        let write = async {
            self.stream.write_all(bytes).await?;
            self.stream.flush().await
        };
        match timeout_at(deadline, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(MllpError::from_io(&e, "writing the message")),
            Err(_) => Err(write_timeout_error(what)),
        }
    }

    /// Read the next whole frame by `deadline`.
    pub async fn read_frame(
        &mut self,
        deadline: Instant,
        what: &str,
    ) -> Result<Vec<u8>, MllpError> {
        match timeout_at(deadline, self.read_frame_inner()).await {
            Ok(result) => result,
            Err(_) => Err(read_timeout_error(what)),
        }
    }

    /// Read the next frame, or `None` when the peer closed cleanly between frames.
    pub async fn read_frame_or_eof(&mut self) -> Result<Option<Vec<u8>>, MllpError> {
        loop {
            if let Some(frame) = self.reader.next_frame()? {
                return Ok(Some(frame));
            }
            let n = self
                .stream
                .read(self.reader.spare())
                .await
                .map_err(|e| MllpError::from_io(&e, "reading"))?;
            if n == 0 {
                return self.reader.eof();
            }
            self.reader.filled(n);
        }
    }

    async fn read_frame_inner(&mut self) -> Result<Vec<u8>, MllpError> {
        match self.read_frame_or_eof().await? {
            Some(frame) => Ok(frame),
            None => Err(closed_before_ack()),
        }
    }

    /// Close politely (TLS close_notify, TCP FIN) without making the caller wait.
    pub fn close_in_background(self) {
        self.stream.close_in_background();
    }
}
