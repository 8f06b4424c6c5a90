//! How the event-loop path learns that a socket is ready. Two ways, chosen once per process
//! (`GLION_MLLP_REACTOR`, see `kind`), measured against each other in `bench/README.md`
//! ("Event-loop reactor A/B"): mio is the one in use; uv-poll is kept, small, only so that
//! the A/B can be run again.
//!
//! - `Kind::Mio`: one `mio::Poll` per environment (epoll on Linux, kqueue on macOS), watched
//!   by libuv through a single poll handle on the Poll's own fd. A socket costs one
//!   `epoll_ctl(ADD)` and closing it removes it. mio registrations are edge-triggered: the
//!   driver reads and writes until `WouldBlock`, and a paused stream tries a read when it
//!   resumes.
//! - `Kind::UvPoll`: one libuv poll handle per socket (`uv_poll_init_socket`, level-triggered):
//!   no second readiness set, but libuv checks the fd with an epoll ADD+DEL and an ioctl at
//!   init, DELs and re-ADDs on every `uv_poll_start` and DELs at close.
//!
//! The poll handle is unref'd: pending sends keep the process alive through their deadline
//! timers, idle pooled connections must not.

use std::cell::RefCell;
use std::ffi::{c_int, c_void};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use super::context::EnvContext;
use super::uv::{Handle, Loop, READABLE};

pub const IN: u32 = 1;
pub const OUT: u32 = 2;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Mio,
    UvPoll,
}

/// The reactor this process uses: `GLION_MLLP_REACTOR=mio|uv-poll`, read once; `mio` unless
/// told otherwise (`uv-poll`: the A/B alternative, see the module comment).
pub fn kind() -> Kind {
    static KIND: OnceLock<Kind> = OnceLock::new();
    *KIND.get_or_init(|| match std::env::var("GLION_MLLP_REACTOR").as_deref() {
        Ok("uv-poll") => Kind::UvPoll,
        _ => Kind::Mio,
    })
}

/// The libuv events (`uv::READABLE`/`WRITABLE`) for `IN`/`OUT`.
pub fn uv_events(events: u32) -> c_int {
    if events & OUT != 0 {
        super::uv::WRITABLE
    } else {
        READABLE
    }
}

/// Events handed out per `poll` call: the array of tokens copied out of them lives on the
/// stack, so an event costs no allocation.
const BATCH: usize = 64;

pub struct Reactor {
    /// Kept only to be closed with the reactor, before the Poll's fd (field order): libuv
    /// must stop watching an fd before it is closed.
    _watch: Handle,
    /// Borrowed mutably only to collect ready tokens, never while they are dispatched.
    poll: RefCell<Poll>,
    events: RefCell<Events>,
}

impl Reactor {
    pub fn new(lp: &Rc<Loop>) -> io::Result<Reactor> {
        let poll = Poll::new()?;
        let watch = lp.poll(poll.as_raw_fd())?;
        watch.unref();
        let status = watch.poll_start(READABLE, on_ready);
        if status != 0 {
            return Err(io::Error::from_raw_os_error(-status));
        }
        Ok(Reactor {
            _watch: watch,
            poll: RefCell::new(poll),
            events: RefCell::new(Events::with_capacity(BATCH)),
        })
    }

    /// Watch `fd` for `events` (`IN`/`OUT`), reported with `token`.
    pub fn add(&self, fd: RawFd, token: u64, events: u32) -> io::Result<()> {
        self.poll.borrow().registry().register(
            &mut SourceFd(&fd),
            Token(token as usize),
            interest(events),
        )
    }

    /// Change what `fd` is watched for (this also reports it again if it is ready now).
    pub fn modify(&self, fd: RawFd, token: u64, events: u32) -> io::Result<()> {
        self.poll.borrow().registry().reregister(
            &mut SourceFd(&fd),
            Token(token as usize),
            interest(events),
        )
    }

    /// Stop watching `fd` for now (a stream whose consumer has not asked for the next frame).
    /// A socket about to be closed needs no call: closing it removes it from the set.
    pub fn remove(&self, fd: RawFd) -> io::Result<()> {
        self.poll.borrow().registry().deregister(&mut SourceFd(&fd))
    }

    /// The tokens of the sockets ready now (up to `BATCH`), without waiting.
    fn ready(&self, tokens: &mut [u64; BATCH]) -> usize {
        let mut events = self.events.borrow_mut();
        if self
            .poll
            .borrow_mut()
            .poll(&mut events, Some(Duration::ZERO))
            .is_err()
        {
            return 0;
        }
        let mut n = 0;
        for (slot, event) in tokens.iter_mut().zip(events.iter()) {
            *slot = event.token().0 as u64;
            n += 1;
        }
        n
    }
}

fn interest(events: u32) -> Interest {
    match (events & IN != 0, events & OUT != 0) {
        (true, true) => Interest::READABLE | Interest::WRITABLE,
        (false, true) => Interest::WRITABLE,
        _ => Interest::READABLE,
    }
}

unsafe extern "C" fn on_ready(handle: *mut c_void, _status: c_int, _events: c_int) {
    super::no_unwind(|| {
        // SAFETY: `handle` is the poll handle libuv passed to this callback.
        let Some((context, _)) = (unsafe { EnvContext::of_handle(handle) }) else {
            return;
        };
        let Some(reactor) = context.current_reactor() else {
            return;
        };
        let mut tokens = [0u64; BATCH];
        loop {
            // Copied out first: a dispatched event may run JS that opens or closes sockets.
            let n = reactor.ready(&mut tokens);
            for &token in &tokens[..n] {
                // Handlers treat a wake-up as a hint and find out from the socket itself.
                super::loop_client::on_ready(context, token);
            }
            if n < BATCH {
                return;
            }
        }
    });
}
