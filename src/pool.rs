//! An opt-in connection pool for `send()`: up to `max` connections, one message in flight
//! per connection (MLLP has no pipelining), idle ones reused most-recent first.
//!
//! A connection goes back to the pool only after an exchange that ended cleanly on its
//! final ACK with nothing left over. Any error, timeout or control-id mismatch drops it, and
//! an idle connection that the receiver closed or wrote to is dropped before reuse: a late
//! ACK can never be read as the answer to the next message.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::{timeout, Instant};

use crate::ack::Ack;
use crate::client::{connect_to, start, ClientSettings};
use crate::error::{Failure, MllpError};
use crate::message::Prepared;
use crate::transport::Connection;

pub struct Pool {
    settings: Arc<ClientSettings>,
    idle_timeout: Duration,
    /// One permit per connection that may be open and busy.
    slots: Semaphore,
    idle: Mutex<Vec<(Connection, Instant)>>,
    closed: AtomicBool,
}

impl Pool {
    pub fn new(settings: Arc<ClientSettings>, max: usize, idle_timeout: Duration) -> Arc<Pool> {
        Arc::new(Pool {
            settings,
            idle_timeout,
            slots: Semaphore::new(max),
            idle: Mutex::new(Vec::with_capacity(max)),
            closed: AtomicBool::new(false),
        })
    }

    /// The task that closes connections idle for longer than `idleTimeout`; the owner
    /// spawns it on its runtime. It ends when the pool is closed or dropped.
    pub fn reaper(self: &Arc<Self>) -> impl std::future::Future<Output = ()> + Send + 'static {
        reap(Arc::downgrade(self), self.idle_timeout)
    }

    /// Send on a pooled connection. Waiting for a free slot and connecting together take at
    /// most `connectTimeout`.
    pub async fn send(&self, message: &Prepared, ack_timeout: Duration) -> Result<Ack, Failure> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Failure::unsent(MllpError::InvalidInput(
                "the client was closed".into(),
            )));
        }
        let connect_deadline = self.settings.connect_timeout;
        let _slot = timeout(connect_deadline, self.slots.acquire())
            .await
            .map_err(|_| {
                Failure::unsent(MllpError::Timeout(format!(
                    "no pooled connection became free within connectTimeout ({} ms)",
                    connect_deadline.as_millis()
                )))
            })?
            .map_err(|_| {
                Failure::unsent(MllpError::InvalidInput("the client was closed".into()))
            })?;
        let conn = match self.take_idle() {
            Some(conn) => conn,
            None => connect_to(&self.settings).await?,
        };
        let mut exchange = start(conn, &self.settings, message, ack_timeout).await?;
        let ack = exchange.next_ack(ack_timeout).await?;
        if let Some(conn) = exchange.into_reusable() {
            if !self.closed.load(Ordering::Acquire) {
                self.idle.lock().unwrap().push((conn, Instant::now()));
            }
        }
        ack.ok_or_else(|| Failure::sent(MllpError::ConnectionClosed("no ACK frame".into())))
    }

    /// The most recently used idle connection that is still fresh and quiet.
    fn take_idle(&self) -> Option<Connection> {
        let mut idle = self.idle.lock().unwrap();
        while let Some((conn, since)) = idle.pop() {
            if since.elapsed() < self.idle_timeout && !conn.is_stale() {
                return Some(conn);
            }
        }
        None
    }

    /// Close every idle connection; later sends are refused. Sends in flight finish, and
    /// their connections are closed instead of returned.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.slots.close();
        for (conn, _) in self.idle.lock().unwrap().drain(..) {
            conn.close_in_background();
        }
    }

    pub fn idle_count(&self) -> usize {
        self.idle.lock().unwrap().len()
    }
}

/// Close connections idle for longer than `idle_timeout`, until the pool is gone.
async fn reap(pool: Weak<Pool>, idle_timeout: Duration) {
    let period = (idle_timeout / 2).max(Duration::from_millis(50));
    loop {
        tokio::time::sleep(period).await;
        let Some(pool) = pool.upgrade() else { return };
        if pool.closed.load(Ordering::Acquire) {
            return;
        }
        pool.idle
            .lock()
            .unwrap()
            .retain(|(_, since)| since.elapsed() < idle_timeout);
    }
}
