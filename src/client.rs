//! The tokio driver of the send engine (`engine::Exchange`): it connects, writes, reads and
//! waits, and feeds what happened to the exchange, which decides everything else.

use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};
use tokio::sync::Notify;
use tokio::time::{timeout_at, Instant};

use crate::ack::Ack;
use crate::engine::exchange::Mode;
use crate::engine::Want;
use crate::error::{Failure, MllpError};
use crate::message::Prepared;
use crate::transport::{open_stream, Stream};

pub use crate::engine::{ack_from_frame, timeout_text, ClientSettings};

/// What a step of the exchange ended on: an ACK frame (intermediate or final) or the end.
pub(crate) enum Step {
    Ack(Ack),
    Done(Result<Ack, Failure>),
}

/// The open connection of one exchange, and the exchange.
pub struct Exchange {
    engine: crate::engine::Exchange,
    settings: Arc<ClientSettings>,
    pub(crate) stream: Option<Stream>,
    /// The next thing to do; `None` once finished.
    want: Option<Want>,
}

impl Exchange {
    /// A new exchange that opens its own connection.
    pub fn new(
        settings: &Arc<ClientSettings>,
        message: Prepared,
        ack_timeout: Duration,
        mode: Mode,
    ) -> Exchange {
        let mut engine = crate::engine::Exchange::new(
            settings.clone(),
            message,
            ack_timeout,
            mode,
            std::time::Instant::now(),
        );
        let want = engine.connect();
        Exchange {
            engine,
            settings: settings.clone(),
            stream: None,
            want: Some(want),
        }
    }

    /// A pooled send that starts at `started`: it gets its connection with `begin`.
    pub(crate) fn pooled(
        settings: &Arc<ClientSettings>,
        message: Prepared,
        ack_timeout: Duration,
        started: std::time::Instant,
    ) -> Exchange {
        let engine = crate::engine::Exchange::new(
            settings.clone(),
            message,
            ack_timeout,
            Mode::Send,
            started,
        );
        Exchange {
            engine,
            settings: settings.clone(),
            stream: None,
            want: None,
        }
    }

    /// Every pool slot is busy: returns until when this send may wait for one.
    pub(crate) fn wait_for_slot(&mut self) -> std::time::Instant {
        self.engine.wait_for_slot();
        self.engine.deadline()
    }

    /// No slot came free in time.
    pub(crate) fn slot_timeout(&mut self) -> Failure {
        match self.engine.deadline_reached() {
            Want::Done(Err(failure)) => failure,
            _ => Failure::unsent(MllpError::Timeout(
                "no pooled connection became free".into(),
            )),
        }
    }

    /// With a pool slot: on an idle connection that passed the stale check, or a new one.
    pub(crate) fn begin(&mut self, idle: Option<crate::pool::IdleConn>) {
        self.want = Some(match idle {
            Some(idle) => {
                self.stream = Some(idle.stream);
                self.engine.reuse(idle.reader, std::time::Instant::now())
            }
            None => self.engine.connect(),
        });
    }

    /// The next ACK frame, parsed and checked; `None` once the final ACK was read.
    pub async fn next_ack(&mut self) -> Result<Option<Ack>, Failure> {
        match self.step().await {
            None => Ok(None),
            Some(Step::Ack(ack)) => Ok(Some(ack)),
            Some(Step::Done(outcome)) => outcome.map(Some),
        }
    }

    /// Drive the exchange to its next ACK frame or its end.
    pub(crate) async fn step(&mut self) -> Option<Step> {
        let mut want = self.want.take()?;
        loop {
            want = match want {
                Want::Ack(ack) => {
                    self.want = Some(self.engine.resume(std::time::Instant::now()));
                    return Some(Step::Ack(ack));
                }
                Want::Done(outcome) => return Some(Step::Done(outcome)),
                other => self.io(other).await,
            };
        }
    }

    /// Do what the engine asked; returns its answer.
    async fn io(&mut self, want: Want) -> Want {
        let deadline = Instant::from_std(self.engine.deadline());
        let ex = &mut self.engine;
        match want {
            Want::Connect | Want::Reconnect => {
                if let Some(old) = self.stream.take() {
                    old.close_in_background();
                }
                let settings = &self.settings;
                match timeout_at(
                    deadline,
                    open_stream(&settings.host, settings.port, settings.tls.as_ref()),
                )
                .await
                {
                    Err(_) => ex.deadline_reached(),
                    Ok(Err(error)) => ex.connect_failed(error),
                    Ok(Ok(stream)) => {
                        let tls13 = stream.is_tls13();
                        self.stream = Some(stream);
                        ex.connected(tls13, std::time::Instant::now())
                    }
                }
            }
            Want::Write => {
                let Some(stream) = self.stream.as_mut() else {
                    return ex.abort();
                };
                let unwritten = ex.unwritten();
                let total = unwritten.len();
                let write = async {
                    stream.write_all(unwritten).await?;
                    // Under TLS the last bytes count as written once they reach the socket.
                    stream.flush().await
                };
                match timeout_at(deadline, write).await {
                    Err(_) => ex.deadline_reached(),
                    Ok(Err(error)) => ex.failed(error, std::time::Instant::now()),
                    Ok(Ok(())) => ex.wrote(total),
                }
            }
            Want::Read => {
                let Some(stream) = self.stream.as_mut() else {
                    return ex.abort();
                };
                match timeout_at(deadline, stream.read(ex.read_buf())).await {
                    Err(_) => ex.deadline_reached(),
                    Ok(result) => feed_read(ex, stream, result),
                }
            }
            Want::Drain => {
                let Some(stream) = self.stream.as_mut() else {
                    return ex.drained();
                };
                match read_now(stream, ex.read_buf()) {
                    Poll::Pending => ex.drained(),
                    Poll::Ready(result) => feed_read(ex, stream, result),
                }
            }
            Want::AwaitReset => {
                tokio::time::sleep_until(deadline).await;
                ex.deadline_reached()
            }
            Want::CheckReset => {
                let reset = self.stream.as_ref().is_some_and(Stream::peer_reset);
                ex.reset_check(reset, std::time::Instant::now())
            }
            Want::Slot => ex.deadline_reached(),
            done @ (Want::Ack(_) | Want::Done(_)) => done,
        }
    }

    /// The connection back with its reader, when the exchange ended cleanly on its final
    /// ACK with nothing left over; otherwise `None` (and the connection is closed).
    pub(crate) fn into_reusable(mut self) -> Option<crate::pool::IdleConn> {
        let stream = self.stream.take()?;
        match self.engine.take_reusable() {
            Some(reader) => Some(crate::pool::IdleConn { stream, reader }),
            None => {
                stream.close_in_background();
                None
            }
        }
    }

    /// Close the connection now (the stream ended, or its consumer left early).
    pub fn close(mut self) {
        if let Some(stream) = self.stream.take() {
            stream.close_in_background();
        }
    }
}

/// A read's result as an engine event.
fn feed_read(ex: &mut crate::engine::Exchange, stream: &Stream, result: io::Result<usize>) -> Want {
    let now = std::time::Instant::now();
    match result {
        Ok(0) => ex.eof(stream.peer_reset(), now),
        Ok(n) => ex.read(n, now),
        Err(error) => ex.failed(error, now),
    }
}

/// Read what the socket already holds, without waiting.
fn read_now(stream: &mut Stream, buf: &mut [u8]) -> Poll<io::Result<usize>> {
    let mut read_buf = ReadBuf::new(buf);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    match std::pin::Pin::new(stream).poll_read(&mut cx, &mut read_buf) {
        Poll::Ready(Ok(())) => Poll::Ready(Ok(read_buf.filled().len())),
        Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
        Poll::Pending => Poll::Pending,
    }
}

/// `stream()`'s first step: an exchange on its own connection (nothing happens until the
/// first `next_ack`).
pub fn open(settings: &Arc<ClientSettings>, message: Prepared, ack_timeout: Duration) -> Exchange {
    Exchange::new(settings, message, ack_timeout, Mode::Stream)
}

/// `send()`: one connection, one frame out, the first ACK frame in, connection closed.
pub async fn send(
    settings: &Arc<ClientSettings>,
    message: Prepared,
    ack_timeout: Duration,
) -> Result<Ack, Failure> {
    let mut exchange = Exchange::new(settings, message, ack_timeout, Mode::Send);
    let outcome = match exchange.step().await {
        Some(Step::Ack(ack)) => Ok(ack),
        Some(Step::Done(outcome)) => outcome,
        None => Err(Failure::sent(MllpError::ConnectionClosed(
            "no ACK frame".into(),
        ))),
    };
    exchange.close();
    outcome
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
