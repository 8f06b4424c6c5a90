//! The pool's bookkeeping without I/O: up to `max` connections busy at once (one message
//! in flight on each: MLLP has no pipelining), idle ones reused most recent first, sends
//! waiting for a slot served oldest first, idle ones closed after `idleTimeout`.
//!
//! `C` is the driver's connection, `W` how it wakes a waiting send. Dropping a `C` closes it.
//! The driver's stale check (a non-blocking peek: closed, reset, or bytes nobody asked for)
//! is fed in as a function: a late ACK can never be read as the answer to the next message.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// What a send gets from the pool.
#[derive(Debug)]
pub enum Acquire<C> {
    /// A slot and an idle connection that passed the stale check.
    Reuse(C),
    /// A slot, no connection: open one.
    Connect,
    /// Every slot is busy: the send was queued; `release` hands it a slot later.
    Wait,
    /// The client was closed.
    Closed,
}

pub struct PoolState<C, W> {
    max: usize,
    idle_timeout: Duration,
    /// Slots held: connections checked out or being opened.
    busy: usize,
    /// Most recently used last.
    idle: Vec<(C, Instant)>,
    waiters: VecDeque<W>,
    closed: bool,
}

impl<C, W> PoolState<C, W> {
    pub fn new(max: usize, idle_timeout: Duration) -> Self {
        PoolState {
            max: max.max(1),
            idle_timeout,
            busy: 0,
            idle: Vec::new(),
            waiters: VecDeque::new(),
            closed: false,
        }
    }

    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// A send asks for a connection; `waiter` is queued when every slot is busy.
    pub fn acquire(
        &mut self,
        waiter: W,
        now: Instant,
        stale: impl FnMut(&C) -> bool,
    ) -> Acquire<C> {
        if self.closed {
            return Acquire::Closed;
        }
        if self.busy >= self.max {
            self.waiters.push_back(waiter);
            return Acquire::Wait;
        }
        self.busy += 1;
        self.with_slot(now, stale)
    }

    /// With a slot held (from `acquire`, or handed over by `release`): the most recently
    /// used idle connection that is still fresh and passes the stale check, or `Connect`.
    pub fn with_slot(&mut self, now: Instant, mut stale: impl FnMut(&C) -> bool) -> Acquire<C> {
        while let Some((conn, since)) = self.idle.pop() {
            if now.saturating_duration_since(since) < self.idle_timeout && !stale(&conn) {
                return Acquire::Reuse(conn);
            }
        }
        Acquire::Connect
    }

    /// A send is done with its slot; `conn` is its connection when it may carry another
    /// message. Returns the waiting send the slot now belongs to (the driver wakes it; if
    /// that send is gone, the driver calls `release(None, ..)` for it).
    pub fn release(&mut self, conn: Option<C>, now: Instant) -> Option<W> {
        if let (Some(conn), false) = (conn, self.closed) {
            self.idle.push((conn, now));
        }
        match self.waiters.pop_front() {
            Some(waiter) => Some(waiter),
            None => {
                self.busy = self.busy.saturating_sub(1);
                None
            }
        }
    }

    /// A waiting send gave up (timeout, abort). False when it was no longer queued (then
    /// `release` already handed it a slot, which it must release).
    pub fn cancel_wait(&mut self, is_it: impl Fn(&W) -> bool) -> bool {
        let before = self.waiters.len();
        self.waiters.retain(|w| !is_it(w));
        self.waiters.len() != before
    }

    /// Connections idle for `idleTimeout` or longer, taken out (to be closed).
    pub fn reap(&mut self, now: Instant) -> Vec<C> {
        let limit = self.idle_timeout;
        let (keep, old) = std::mem::take(&mut self.idle)
            .into_iter()
            .partition(|(_, since)| now.saturating_duration_since(*since) < limit);
        self.idle = keep;
        old.into_iter().map(|(conn, _)| conn).collect()
    }

    /// An idle connection became stale while idle (the receiver closed it or wrote to it).
    pub fn drop_idle(&mut self, is_it: impl Fn(&C) -> bool) -> Option<C> {
        let at = self.idle.iter().position(|(conn, _)| is_it(conn))?;
        Some(self.idle.remove(at).0)
    }

    /// Refuse later sends; returns the idle connections (to close) and the waiting sends (to
    /// reject). Sends in flight finish; their connections are closed instead of kept.
    pub fn close(&mut self) -> (Vec<C>, Vec<W>) {
        self.closed = true;
        let idle = std::mem::take(&mut self.idle)
            .into_iter()
            .map(|(conn, _)| conn)
            .collect();
        (idle, std::mem::take(&mut self.waiters).into())
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    pub fn idle_count(&self) -> usize {
        self.idle.len()
    }

    pub fn busy(&self) -> usize {
        self.busy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(max: usize) -> PoolState<u32, &'static str> {
        PoolState::new(max, Duration::from_secs(10))
    }

    #[test]
    fn at_most_max_busy_then_waiters_oldest_first() {
        let now = Instant::now();
        let mut p = pool(1);
        assert!(matches!(p.acquire("a", now, |_| false), Acquire::Connect));
        assert!(matches!(p.acquire("b", now, |_| false), Acquire::Wait));
        assert!(matches!(p.acquire("c", now, |_| false), Acquire::Wait));
        assert_eq!(p.release(Some(7), now), Some("b"));
        assert!(matches!(p.with_slot(now, |_| false), Acquire::Reuse(7)));
        assert_eq!(p.release(None, now), Some("c"));
        assert!(matches!(p.with_slot(now, |_| false), Acquire::Connect));
        assert_eq!(p.release(None, now), None);
        assert_eq!(p.busy(), 0);
    }

    #[test]
    fn reuse_most_recent_first_and_skip_stale_and_expired() {
        let t0 = Instant::now();
        let mut p = pool(3);
        for _ in 0..3 {
            assert!(matches!(p.acquire("x", t0, |_| false), Acquire::Connect));
        }
        for conn in [1, 2, 3] {
            p.release(Some(conn), t0);
        }
        // 3 is the most recent but stale: dropped, 2 is next.
        assert!(matches!(p.acquire("x", t0, |&c| c == 3), Acquire::Reuse(2)));
        // Past idleTimeout nothing is reused.
        assert!(matches!(
            p.acquire("x", t0 + Duration::from_secs(11), |_| false),
            Acquire::Connect
        ));
        assert_eq!(p.idle_count(), 0);
    }

    #[test]
    fn reap_takes_only_expired() {
        let t0 = Instant::now();
        let mut p = pool(2);
        p.acquire("x", t0, |_| false);
        p.acquire("x", t0, |_| false);
        p.release(Some(1), t0);
        p.release(Some(2), t0 + Duration::from_secs(5));
        assert_eq!(p.reap(t0 + Duration::from_secs(12)), vec![1]);
        assert_eq!(p.idle_count(), 1);
    }

    #[test]
    fn cancelled_waiter_and_close() {
        let now = Instant::now();
        let mut p = pool(1);
        p.acquire("a", now, |_| false);
        p.acquire("b", now, |_| false);
        assert!(p.cancel_wait(|&w| w == "b"));
        assert!(!p.cancel_wait(|&w| w == "b"));
        p.acquire("c", now, |_| false);
        let (idle, waiting) = p.close();
        assert!(idle.is_empty());
        assert_eq!(waiting, vec!["c"]);
        assert!(matches!(p.acquire("d", now, |_| false), Acquire::Closed));
        // A send in flight after close: its connection is not kept.
        assert_eq!(p.release(Some(9), now), None);
        assert_eq!(p.idle_count(), 0);
    }
}
