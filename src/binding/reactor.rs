//! One epoll set per JS thread for the event-loop sends, watched by libuv through a single
//! poll handle on the epoll fd itself.
//!
//! Why not a libuv poll handle per socket: `uv_poll_init` checks the fd with an epoll
//! ADD+DEL and an ioctl, `uv_poll_start` always DELs and re-ADDs, and closing DELs again:
//! five epoll_ctl calls and an ioctl per connection, measured as the largest avoidable cost
//! of a connection-per-message send (issue 7). Here a socket costs one `epoll_ctl(ADD)`, and
//! closing the socket removes it. libuv sees the epoll fd readable whenever one of ours is
//! ready; `on_ready` then drains our set without blocking.
//!
//! The poll handle is unref'd: pending sends keep the process alive through their deadline
//! timers, idle pooled connections must not.

use std::cell::RefCell;
use std::collections::HashSet;
use std::ffi::{c_int, c_void};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::rc::Rc;

use super::uv::{Handle, LeakAtExit, Loop, READABLE};

pub const IN: u32 = libc::EPOLLIN as u32;
pub const OUT: u32 = libc::EPOLLOUT as u32;

/// What a ready socket is handed to: its token and the epoll events.
pub type Dispatch = fn(token: u64, events: u32);

pub struct Reactor {
    /// Kept only to be closed with the reactor, before the epoll fd (field order): libuv
    /// must stop watching an fd before it is closed.
    _poll: Handle,
    epoll: OwnedFd,
    /// Tokens of the sockets in the set. With exactly one, a wake-up can only be for it, and
    /// `on_ready` skips the `epoll_wait` (one connection at a time is the common case).
    members: RefCell<HashSet<u64>>,
}

thread_local! {
    static REACTOR: LeakAtExit<Option<(Rc<Reactor>, Dispatch)>> = const { LeakAtExit(RefCell::new(None)) };
}

impl Reactor {
    /// This thread's reactor, created on first use; `dispatch` receives every event.
    pub fn get(lp: &Loop, dispatch: Dispatch) -> io::Result<Rc<Reactor>> {
        if let Some(reactor) = REACTOR.with(|r| r.borrow().as_ref().map(|(r, _)| r.clone())) {
            return Ok(reactor);
        }
        // SAFETY: plain system call; the result is checked.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a new epoll fd owned by nobody else.
        let epoll = unsafe { OwnedFd::from_raw_fd(fd) };
        let poll = lp.poll(epoll.as_raw_fd())?;
        poll.unref();
        let status = poll.poll_start(READABLE, on_ready);
        if status != 0 {
            return Err(io::Error::from_raw_os_error(-status));
        }
        let reactor = Rc::new(Reactor {
            _poll: poll,
            epoll,
            members: RefCell::new(HashSet::new()),
        });
        REACTOR.with(|r| *r.borrow_mut() = Some((reactor.clone(), dispatch)));
        Ok(reactor)
    }

    /// Watch `fd` for `events`, reported with `token`.
    pub fn add(&self, fd: RawFd, token: u64, events: u32) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, token, events)?;
        self.members.borrow_mut().insert(token);
        Ok(())
    }

    /// `token`'s socket is about to be closed (closing removes it from the set).
    pub fn forget(&self, token: u64) {
        self.members.borrow_mut().remove(&token);
    }

    /// Stop watching `fd` for now (a stream whose consumer has not asked for the next frame:
    /// level-triggered, a readable socket left in the set would wake the loop again and again).
    pub fn remove(&self, fd: RawFd, token: u64) -> io::Result<()> {
        self.members.borrow_mut().remove(&token);
        self.ctl(libc::EPOLL_CTL_DEL, fd, token, 0)
    }

    /// Change what `fd` is watched for.
    pub fn modify(&self, fd: RawFd, token: u64, events: u32) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, token, events)
    }

    fn ctl(&self, op: c_int, fd: RawFd, token: u64, events: u32) -> io::Result<()> {
        let mut event = libc::epoll_event { events, u64: token };
        // SAFETY: `event` is a local and both fds are open (the socket is owned by its connection).
        if unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut event) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// This thread's reactor, if one was made.
pub fn current() -> Option<Rc<Reactor>> {
    REACTOR
        .try_with(|r| r.borrow().as_ref().map(|(r, _)| r.clone()))
        .ok()
        .flatten()
}

/// Environment teardown: forget this thread's reactor (its handle is closed by `uv.rs`).
pub fn take() -> Option<Rc<Reactor>> {
    REACTOR.with(|r| r.borrow_mut().take().map(|(r, _)| r))
}

const BATCH: usize = 64;

unsafe extern "C" fn on_ready(_handle: *mut c_void, _status: c_int, _events: c_int) {
    super::no_unwind(|| {
        let Some((reactor, dispatch)) = REACTOR.with(|r| r.borrow().clone()) else {
            return;
        };
        let only = {
            let members = reactor.members.borrow();
            if members.len() == 1 {
                members.iter().next().copied()
            } else {
                None
            }
        };
        if let Some(token) = only {
            // Handlers treat a wake-up as a hint and find out from the socket itself.
            dispatch(token, 0);
            return;
        }
        loop {
            let mut events = [libc::epoll_event { events: 0, u64: 0 }; BATCH];
            // SAFETY: `events` is a local array of `BATCH` entries and the epoll fd is owned by the reactor;
            // timeout 0 never blocks.
            let n = unsafe {
                libc::epoll_wait(
                    reactor.epoll.as_raw_fd(),
                    events.as_mut_ptr(),
                    BATCH as c_int,
                    0,
                )
            };
            if n <= 0 {
                return;
            }
            // Copied out first: a dispatched event may run JS that opens or closes sockets.
            for event in &events[..n as usize] {
                let (token, flags) = (event.u64, event.events);
                dispatch(token, flags);
            }
            if (n as usize) < BATCH {
                return;
            }
        }
    });
}
