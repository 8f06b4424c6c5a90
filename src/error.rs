//! The one error type of the core. Each variant is one `MllpClientError.code` of the API
//! contract; the binding layer turns it into a JSON reason that `lib/errors.js` rebuilds.

use std::io;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum MllpError {
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    ConnectionRefused(String),
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    ConnectionClosed(String),
    #[error("{0}")]
    MalformedFrame(String),
    #[error("{0}")]
    MalformedAck(String),
    #[error("{0}")]
    Tls(String),
    /// The caller's AbortSignal fired (or the stream was closed); the JS layer rejects with
    /// the signal's own reason, so this text is never shown to users.
    #[error("aborted")]
    Aborted,
}

impl MllpError {
    /// The `MllpClientError.code` string.
    pub fn code(&self) -> &'static str {
        match self {
            MllpError::InvalidInput(_) => "INVALID_INPUT",
            MllpError::ConnectionRefused(_) => "CONNECTION_REFUSED",
            MllpError::Timeout(_) => "TIMEOUT",
            MllpError::ConnectionClosed(_) => "CONNECTION_CLOSED",
            MllpError::MalformedFrame(_) => "MALFORMED_FRAME",
            MllpError::MalformedAck(_) => "MALFORMED_ACK",
            MllpError::Tls(_) => "TLS_ERROR",
            MllpError::Aborted => "ABORTED",
        }
    }

    /// An I/O error on an open connection. TLS alerts arrive as I/O errors wrapping a
    /// `rustls::Error`; they stay TLS errors (a TLS 1.3 server refuses a client certificate
    /// after the client already finished its handshake).
    pub fn from_io(err: &io::Error, doing: &str) -> MllpError {
        if let Some(tls) = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
        {
            return MllpError::Tls(format!("TLS error while {doing}: {tls}"));
        }
        match err.kind() {
            io::ErrorKind::UnexpectedEof => MllpError::ConnectionClosed(format!(
                "the receiver closed the connection while {doing}"
            )),
            _ => MllpError::ConnectionClosed(format!("connection lost while {doing}: {err}")),
        }
    }
}

/// A failed send: the error and whether every byte of the message had been written (the
/// receiver may then have it, so the caller decides about resending).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error: MllpError,
    pub sent: bool,
}

impl Failure {
    pub fn unsent(error: MllpError) -> Failure {
        Failure { error, sent: false }
    }
    pub fn sent(error: MllpError) -> Failure {
        Failure { error, sent: true }
    }
}

impl From<MllpError> for Failure {
    fn from(error: MllpError) -> Failure {
        Failure::unsent(error)
    }
}
