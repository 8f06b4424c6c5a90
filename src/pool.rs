//! The tokio driver of the opt-in connection pool (`pool: { max, idleTimeout }`). What the
//! pool decides (slots, waiters oldest first, most-recent-first reuse, stale and expired
//! connections, close) is `engine::PoolState`; here are only the locks, wake-ups and sockets.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::timeout_at;

use crate::ack::Ack;
use crate::client::{ClientSettings, Exchange, Step};
use crate::engine::{Acquire, PoolState};
use crate::error::{Failure, MllpError};
use crate::frame::FrameReader;
use crate::message::Prepared;
use crate::transport::Stream;

/// An idle pooled connection and its frame reader (clean: nothing buffered).
pub(crate) struct IdleConn {
    pub(crate) stream: Stream,
    pub(crate) reader: FrameReader,
}

type Waiter = oneshot::Sender<()>;

pub struct Pool {
    settings: Arc<ClientSettings>,
    state: Mutex<PoolState<IdleConn, Waiter>>,
}

fn closed_client() -> Failure {
    Failure::unsent(MllpError::InvalidInput("the client was closed".into()))
}

impl Pool {
    pub fn new(settings: Arc<ClientSettings>, max: usize, idle_timeout: Duration) -> Arc<Pool> {
        Arc::new(Pool {
            settings,
            state: Mutex::new(PoolState::new(max, idle_timeout)),
        })
    }

    /// The task that closes connections idle for longer than `idleTimeout`; the owner
    /// spawns it on its runtime. It ends when the pool is closed or dropped.
    pub fn reaper(self: &Arc<Self>) -> impl std::future::Future<Output = ()> + Send + 'static {
        let idle_timeout = self.state.lock().unwrap().idle_timeout();
        reap(Arc::downgrade(self), idle_timeout)
    }

    /// Send on a pooled connection. Waiting for a free slot and connecting together take at
    /// most `connectTimeout` (the engine's one deadline for both).
    pub async fn send(&self, message: Prepared, ack_timeout: Duration) -> Result<Ack, Failure> {
        let started = std::time::Instant::now();
        let mut exchange = Exchange::pooled(&self.settings, message, ack_timeout, started);
        let (sender, mut woken) = oneshot::channel();
        let first = self
            .state
            .lock()
            .unwrap()
            .acquire(sender, started, |idle| idle.stream.is_stale());
        let acquired = match first {
            Acquire::Closed => return Err(closed_client()),
            Acquire::Wait => {
                let deadline = tokio::time::Instant::from_std(exchange.wait_for_slot());
                match timeout_at(deadline, &mut woken).await {
                    Ok(Ok(())) => self
                        .state
                        .lock()
                        .unwrap()
                        .with_slot(std::time::Instant::now(), |idle| idle.stream.is_stale()),
                    // The pool was closed while this send waited.
                    Ok(Err(_)) => return Err(closed_client()),
                    Err(_) => {
                        woken.close();
                        if woken.try_recv().is_ok() {
                            // Handed a slot just as the deadline passed: give it back.
                            self.release(None);
                        }
                        return Err(exchange.slot_timeout());
                    }
                }
            }
            acquired => acquired,
        };
        exchange.begin(match acquired {
            Acquire::Reuse(idle) => Some(idle),
            _ => None,
        });
        // The slot is released whatever happens, also when this future is dropped (abort).
        let mut guard = SlotGuard {
            pool: self,
            conn: None,
        };
        let outcome = match exchange.step().await {
            Some(Step::Ack(ack)) => Ok(ack),
            Some(Step::Done(outcome)) => outcome,
            None => Err(Failure::sent(MllpError::ConnectionClosed(
                "no ACK frame".into(),
            ))),
        };
        guard.conn = exchange.into_reusable();
        outcome
    }

    /// Give a slot back (with the connection when it may carry another message); the next
    /// waiting send gets it.
    fn release(&self, mut conn: Option<IdleConn>) {
        loop {
            let waiter = self
                .state
                .lock()
                .unwrap()
                .release(conn.take(), std::time::Instant::now());
            match waiter {
                None => return,
                Some(waiter) => {
                    if waiter.send(()).is_ok() {
                        return;
                    }
                    // That send gave up already: the slot goes to the next one.
                }
            }
        }
    }

    /// Close every idle connection; later sends are refused. Sends in flight finish, and
    /// their connections are closed instead of returned.
    pub fn close(&self) {
        let (idle, waiting) = self.state.lock().unwrap().close();
        for conn in idle {
            conn.stream.close_in_background();
        }
        // Dropping the senders wakes the waiting sends with "closed".
        drop(waiting);
    }

    pub fn idle_count(&self) -> usize {
        self.state.lock().unwrap().idle_count()
    }
}

struct SlotGuard<'a> {
    pool: &'a Pool,
    conn: Option<IdleConn>,
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        self.pool.release(self.conn.take());
    }
}

/// Close connections idle for longer than `idle_timeout`, until the pool is gone.
async fn reap(pool: Weak<Pool>, idle_timeout: Duration) {
    let period = (idle_timeout / 2).max(Duration::from_millis(50));
    loop {
        tokio::time::sleep(period).await;
        let Some(pool) = pool.upgrade() else { return };
        let expired = {
            let mut state = pool.state.lock().unwrap();
            if state.is_closed() {
                return;
            }
            state.reap(std::time::Instant::now())
        };
        drop(expired);
    }
}
