//! `send()` on the JS thread's own event loop (Node, plain TCP, a host given as an IP
//! address): connect, write and read without leaving the JS thread, and settle the Promise
//! right there. Why: see `uv.rs`. Everything else (TLS, host names, Bun, Deno, `stream()`)
//! runs on the tokio runtime; both paths use the same core (`Prepared`, `FrameReader`,
//! `ack_from_frame`, the error texts of `transport.rs`) so they behave alike, and the test
//! suite runs on both.
//!
//! One send is a small state machine driven by libuv callbacks: Waiting (for a pool slot)
//! -> Connecting -> Writing -> Reading -> done. Callbacks find their send through a number
//! kept in the handle (`SENDS`), never a pointer, so a late callback for a finished send
//! finds nothing and does nothing. No `RefCell` borrow is held while JS runs: a settled
//! Promise may start the next send from inside `settle`.

// `Flow`'s error side carries the send's outcome, once per send: boxing it would allocate per
// send for nothing.
#![allow(clippy::result_large_err)]

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::c_void;
use std::io::{self, IoSlice, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use napi::sys;

use super::reactor::{Reactor, IN, OUT};
use super::settle::Settlement;
use super::uv::{self, Handle, LeakAtExit, Loop};
use super::{no_unwind, panic_error, to_js_error};
use crate::ack::Ack;
use crate::engine::exchange::{Mode, Phase};
use crate::engine::{Acquire, ClientSettings, Exchange, PoolState, Want};
use crate::error::{Failure, MllpError};
use crate::frame::FrameReader;
use crate::message::Prepared;
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    static SENDS: LeakAtExit<HashMap<usize, Rc<RefCell<LoopSend>>>> = LeakAtExit(RefCell::new(HashMap::new()));
    static CLIENTS: RefCell<HashMap<usize, std::rc::Weak<LoopClient>>> = RefCell::new(HashMap::new());
    /// Every open connection (its reactor token) -> who its events go to.
    static CONNS: RefCell<HashMap<u64, Owner>> = RefCell::new(HashMap::new());
    static NEXT_KEY: Cell<usize> = const { Cell::new(1) };
}

fn next_key() -> usize {
    NEXT_KEY.with(|k| {
        let key = k.get();
        k.set(key.wrapping_add(1).max(1));
        key
    })
}

#[derive(Clone, Copy)]
enum Owner {
    /// In use by the send with this key.
    Send(usize),
    /// Idle in the pool of the client with this key.
    Idle(usize),
}

/// How a connection is watched. A connection per message uses the thread's shared
/// `Reactor` (one epoll_ctl per connection). A pooled connection, which lives for many
/// sends, gets its own libuv poll handle: registering it costs more once, but then each
/// send is woken by libuv's own epoll_wait, without a second one on the reactor's set.
enum Watch {
    Shared,
    /// Unref'd: an idle pooled connection must not keep the process alive (a pending send
    /// does, through its deadline timer).
    Own(Handle),
}

/// A connection owned by the event loop. Field order matters: `watch` (a poll handle) is
/// closed before the socket, as libuv requires.
struct LoopConn {
    watch: Watch,
    token: u64,
    sock: TcpStream,
    /// Kept while idle; the exchange holds it while the connection is in use.
    reader: Option<FrameReader>,
    /// The last send's deadline timer, stopped, for the next send on this connection.
    spare_timer: Option<Handle>,
    /// The epoll events registered now (0: not registered yet).
    watching: u32,
}

impl LoopConn {
    fn new(lp: &Loop, sock: TcpStream, owner: Owner, pooled: bool) -> io::Result<LoopConn> {
        let token = next_key() as u64;
        let watch = if pooled {
            let poll = lp.poll(sock.as_raw_fd())?;
            poll.set_key(token as usize);
            poll.unref();
            Watch::Own(poll)
        } else {
            Watch::Shared
        };
        CONNS.with(|c| c.borrow_mut().insert(token, owner));
        Ok(LoopConn {
            watch,
            token,
            sock,
            reader: None,
            spare_timer: None,
            watching: 0,
        })
    }

    /// Watch for `events` (`IN`/`OUT`); a system call only when they change.
    fn watch(&mut self, reactor: &Reactor, events: u32) -> io::Result<()> {
        if self.watching == events {
            return Ok(());
        }
        match &self.watch {
            Watch::Shared if self.watching == 0 => {
                reactor.add(self.sock.as_raw_fd(), self.token, events)?
            }
            Watch::Shared => reactor.modify(self.sock.as_raw_fd(), self.token, events)?,
            Watch::Own(poll) => {
                let uv_events = if events & OUT != 0 {
                    uv::WRITABLE
                } else {
                    uv::READABLE
                };
                let status = poll.poll_start(uv_events, on_poll);
                if status != 0 {
                    return Err(io::Error::from_raw_os_error(-status));
                }
            }
        }
        self.watching = events;
        Ok(())
    }

    /// Stop watching the socket (it is about to be dropped or replaced). Only an own poll
    /// handle is closed here; a socket in the shared set leaves it when it is closed.
    fn unwatch(&mut self) {
        if let Watch::Own(_) = self.watch {
            self.watch = Watch::Shared;
            self.watching = 0;
        }
    }

    fn set_owner(&self, owner: Owner) {
        CONNS.with(|c| c.borrow_mut().insert(self.token, owner));
    }

    /// True when an idle connection can no longer be trusted: closed, reset, or carrying
    /// bytes nobody asked for (a late ACK must never answer the next message).
    fn is_stale(&self) -> bool {
        !matches!(self.sock.peek(&mut [0u8; 1]), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

impl Drop for LoopConn {
    /// Closing the socket (after this) also removes it from the epoll set.
    fn drop(&mut self) {
        let _ = CONNS.try_with(|c| c.borrow_mut().remove(&self.token));
        if matches!(self.watch, Watch::Shared) && self.watching != 0 {
            if let Some(reactor) = super::reactor::current() {
                reactor.forget(self.token);
            }
        }
    }
}

/// The pool (`engine::PoolState` decides; here the idle-connection reaper timer). An idle
/// pooled connection stays registered for input: a receiver that closes it or sends
/// something unasked gets it dropped at once, and reusing it costs no epoll_ctl call.
struct LoopPool {
    state: PoolState<LoopConn, usize>,
    reaper: Option<Handle>,
}

pub(crate) struct LoopClient {
    key: usize,
    lp: Loop,
    env: sys::napi_env,
    settle_ref: sys::napi_ref,
    async_context: sys::napi_async_context,
    settings: Arc<ClientSettings>,
    addr: SocketAddr,
    pool: Option<RefCell<LoopPool>>,
    reactor: Rc<Reactor>,
}

impl LoopClient {
    /// `None` when this client cannot use the event loop (not Node, TLS, or a host name).
    pub(crate) fn new(
        env: sys::napi_env,
        settle: sys::napi_value,
        settings: Arc<ClientSettings>,
        pool: Option<(usize, Duration)>,
    ) -> Option<Rc<LoopClient>> {
        if settings.tls.is_some() {
            return None;
        }
        let ip: std::net::IpAddr = settings.host.parse().ok()?;
        let lp = Loop::of(env)?;
        let reactor = Reactor::get(&lp, on_ready).ok()?;
        let mut settle_ref = std::ptr::null_mut();
        let mut async_context = std::ptr::null_mut();
        let mut name = std::ptr::null_mut();
        // SAFETY: `env` is the environment of this napi call (we are on its JS thread) and `settle` a live
        // value of it; every out-pointer is a local.
        unsafe {
            if sys::napi_create_reference(env, settle, 1, &mut settle_ref) != sys::Status::napi_ok {
                return None;
            }
            let text = "MllpClient.send";
            sys::napi_create_string_utf8(env, text.as_ptr().cast(), text.len() as isize, &mut name);
            if sys::napi_async_init(env, std::ptr::null_mut(), name, &mut async_context)
                != sys::Status::napi_ok
            {
                sys::napi_delete_reference(env, settle_ref);
                return None;
            }
        }
        let client = Rc::new(LoopClient {
            key: next_key(),
            lp,
            env,
            settle_ref,
            async_context,
            addr: SocketAddr::new(ip, settings.port),
            reactor,
            settings,
            pool: pool.map(|(max, idle_timeout)| {
                RefCell::new(LoopPool {
                    state: PoolState::new(max, idle_timeout),
                    reaper: None,
                })
            }),
        });
        CLIENTS.with(|c| c.borrow_mut().insert(client.key, Rc::downgrade(&client)));
        Some(client)
    }

    /// Start one send. An error known before anything is pending is returned (the JS
    /// wrapper rejects with it); otherwise the outcome arrives through the settle callback.
    /// Returns the send's key, for `abort`.
    pub(crate) fn send(
        self: &Rc<Self>,
        id: u32,
        prepared: Prepared,
        ack_timeout: Duration,
    ) -> Result<usize, Failure> {
        let key = next_key();
        let exchange = Exchange::new(
            self.settings.clone(),
            prepared,
            ack_timeout,
            Mode::Send,
            Instant::now(),
        );
        let send = LoopSend {
            key,
            id,
            client: self.clone(),
            ex: exchange,
            conn: None,
            timer: None,
            armed: None,
            holds_slot: false,
        };
        SENDS.with(|s| s.borrow_mut().insert(key, Rc::new(RefCell::new(send))));
        match step(key, Event::Start) {
            Some(Done {
                outcome: Err(failure),
                holds_slot,
                client,
                conn,
                ..
            }) => {
                // Its slot goes to the next waiting send (which may settle right here).
                if holds_slot {
                    client.release_slot(conn);
                }
                Err(failure)
            }
            // Cannot happen (nothing is read before the first callback); settle it anyway.
            Some(done) => {
                done.deliver();
                Ok(key)
            }
            None => Ok(key),
        }
    }

    /// Close idle connections and refuse later sends; waiting sends are rejected, sends in
    /// flight finish and close their connections.
    pub(crate) fn close(&self) {
        let Some(pool) = &self.pool else { return };
        let ((idle, waiting), reaper) = {
            let mut pool = pool.borrow_mut();
            (pool.state.close(), pool.reaper.take())
        };
        drop(idle);
        drop(reaper);
        for key in waiting {
            finish(key, Err(Failure::unsent(closed_client())));
        }
    }

    fn drop_idle(&self, token: u64) {
        let Some(pool) = &self.pool else { return };
        let gone = pool
            .borrow_mut()
            .state
            .drop_idle(|conn| conn.token == token);
        drop(gone);
    }

    pub(crate) fn idle_count(&self) -> usize {
        self.pool
            .as_ref()
            .map_or(0, |p| p.borrow().state.idle_count())
    }

    /// Call the JS settle callback (`settle.rs`: id, reason, the ACK's fields) on this, the
    /// JS, thread. Node runs the microtasks it queued (the awaiting code) when it returns.
    fn settle(&self, id: u32, outcome: Result<Ack, Failure>) {
        let env = self.env;
        let settlement = Settlement {
            id,
            outcome: outcome.map_err(|failure| to_js_error(failure).reason),
        };
        // SAFETY: called on the JS thread of `env` (libuv callbacks run there), inside the handle scope
        // opened here; `settle_ref` and `async_context` were created for `env` and live as long as
        // this client.
        unsafe {
            let mut scope = std::ptr::null_mut();
            if sys::napi_open_handle_scope(env, &mut scope) != sys::Status::napi_ok {
                return;
            }
            let mut func = std::ptr::null_mut();
            let mut recv = std::ptr::null_mut();
            sys::napi_get_reference_value(env, self.settle_ref, &mut func);
            // napi_make_callback needs an object as `this` (undefined throws a TypeError).
            sys::napi_get_global(env, &mut recv);
            if let (Ok(argv), false) = (settlement.into_args(env), func.is_null()) {
                let mut result = std::ptr::null_mut();
                let status = sys::napi_make_callback(
                    env,
                    self.async_context,
                    recv,
                    func,
                    argv.len(),
                    argv.as_ptr(),
                    &mut result,
                );
                if status == sys::Status::napi_pending_exception {
                    let mut error = std::ptr::null_mut();
                    sys::napi_get_and_clear_last_exception(env, &mut error);
                    sys::napi_fatal_exception(env, error);
                }
            }
            sys::napi_close_handle_scope(env, scope);
        }
    }

    /// A send is done with its slot (`conn`: its connection, when it may carry another
    /// message): the slot goes to the oldest waiting send, or back. A loop, not recursion:
    /// many waiting sends may fail at once (receiver down).
    fn release_slot(self: &Rc<Self>, mut conn: Option<LoopConn>) {
        let Some(pool) = &self.pool else { return };
        if let Some(conn) = &conn {
            conn.set_owner(Owner::Idle(self.key));
        }
        loop {
            let next = pool.borrow_mut().state.release(conn.take(), Instant::now());
            self.start_reaper();
            let Some(key) = next else { return };
            if !SENDS.with(|s| s.borrow().contains_key(&key)) {
                continue; // gone already: the slot goes to the next one
            }
            match step(key, Event::SlotFree) {
                // The waiting send holds the slot now.
                None => return,
                // It failed at once (its slot is free again): settle it, try the next one.
                Some(done) => {
                    conn = done.conn;
                    self.settle(done.id, done.outcome);
                }
            }
        }
    }

    fn start_reaper(&self) {
        let Some(pool) = &self.pool else { return };
        let mut pool = pool.borrow_mut();
        if pool.reaper.is_some() || pool.state.idle_count() == 0 {
            return;
        }
        if let Ok(timer) = self.lp.timer() {
            let period = (pool.state.idle_timeout() / 2)
                .max(Duration::from_millis(50))
                .as_millis() as u64;
            timer.set_key(self.key);
            timer.unref();
            timer.timer_start(period, period, on_reap);
            pool.reaper = Some(timer);
        }
    }
}

impl Drop for LoopClient {
    fn drop(&mut self) {
        let _ = CLIENTS.try_with(|c| c.borrow_mut().remove(&self.key));
        // SAFETY: the reference and async context were created for `env` in `new` and are released once,
        // here, on the JS thread.
        unsafe {
            sys::napi_delete_reference(self.env, self.settle_ref);
            sys::napi_async_destroy(self.env, self.async_context);
        }
    }
}

fn closed_client() -> MllpError {
    MllpError::InvalidInput("the client was closed".into())
}

#[derive(Clone, Copy)]
enum Event {
    Start,
    SlotFree,
    /// The reactor reported the connection ready (readable, writable, closed or failed).
    Ready,
    Timer,
}

/// One send: the engine's exchange, and the connection and timer it runs on.
pub(crate) struct LoopSend {
    key: usize,
    id: u32,
    client: Rc<LoopClient>,
    ex: Exchange,
    conn: Option<LoopConn>,
    timer: Option<Handle>,
    /// The deadline the timer is set for.
    armed: Option<Instant>,
    holds_slot: bool,
}

/// A finished send, to deliver once no state is borrowed.
struct Done {
    client: Rc<LoopClient>,
    id: u32,
    holds_slot: bool,
    /// The connection, for the pool, when it may carry another message.
    conn: Option<LoopConn>,
    outcome: Result<Ack, Failure>,
}

impl Done {
    fn deliver(self) {
        if self.holds_slot {
            self.client.release_slot(self.conn);
        }
        self.client.settle(self.id, self.outcome);
    }
}

/// Advance send `key` by `event`; `Some` when it finished (already removed from `SENDS`).
fn step(key: usize, event: Event) -> Option<Done> {
    let cell = SENDS.with(|s| s.borrow().get(&key).cloned())?;
    let outcome = {
        let mut send = cell.borrow_mut();
        let sent = send.ex.is_sent();
        // A bug here must settle this send as an error, not unwind into libuv.
        let flow = catch_unwind(AssertUnwindSafe(|| send.on(event))).unwrap_or_else(|panic| {
            Err(Err(Failure {
                error: panic_error(panic),
                sent,
            }))
        });
        match flow {
            Ok(()) => return None,
            Err(outcome) => send.finish(outcome),
        }
    };
    SENDS.with(|s| s.borrow_mut().remove(&key));
    Some(outcome)
}

/// Finish send `key` from outside (abort, pool closed) and deliver its outcome.
fn finish(key: usize, outcome: Result<Ack, Failure>) {
    let Some(cell) = SENDS.with(|s| s.borrow_mut().remove(&key)) else {
        return;
    };
    let done = cell.borrow_mut().finish(outcome);
    done.deliver();
}

/// Environment teardown (see `uv.rs`): take every pending send, to drop once their handles
/// are closed. Their Promises are never settled: nothing is left to run them.
pub(crate) fn take_all() -> Vec<Rc<RefCell<LoopSend>>> {
    SENDS.with(|s| s.borrow_mut().drain().map(|(_, send)| send).collect())
}

/// Abort send `key` (AbortSignal): close its connection now.
pub(crate) fn abort(key: usize) {
    if SENDS.with(|s| s.borrow().contains_key(&key)) {
        finish(key, Err(Failure::unsent(MllpError::Aborted)));
    }
}

/// A pooled connection's own poll handle fired (its key is the connection's token). On an
/// error libuv stops the handle and reports EBADF: the read or connect check that follows
/// finds the real error.
unsafe extern "C" fn on_poll(
    handle: *mut c_void,
    _status: std::ffi::c_int,
    _events: std::ffi::c_int,
) {
    no_unwind(|| {
        // SAFETY: `handle` is the poll handle libuv passed to this callback.
        let token = unsafe { uv::key_of(handle) } as u64;
        on_ready(token, 0);
    });
}

/// Every reactor event of this thread arrives here.
fn on_ready(token: u64, _events: u32) {
    match CONNS.with(|c| c.borrow().get(&token).copied()) {
        Some(Owner::Send(key)) => {
            if let Some(done) = step(key, Event::Ready) {
                done.deliver();
            }
        }
        // Input on an idle pooled connection: closed by the receiver, or bytes nobody
        // asked for. Either way it can no longer be trusted.
        Some(Owner::Idle(client)) => {
            if let Some(client) =
                CLIENTS.with(|c| c.borrow().get(&client).and_then(|w| w.upgrade()))
            {
                client.drop_idle(token);
            }
        }
        None => {}
    }
}

unsafe extern "C" fn on_timer(handle: *mut c_void) {
    no_unwind(|| {
        // SAFETY: `handle` is the timer handle libuv passed to this callback.
        let key = unsafe { uv::key_of(handle) };
        if let Some(done) = step(key, Event::Timer) {
            done.deliver();
        }
    });
}

/// Close pooled connections idle for longer than `idleTimeout`.
unsafe extern "C" fn on_reap(handle: *mut c_void) {
    no_unwind(|| {
        // SAFETY: `handle` is the timer handle libuv passed to this callback.
        let key = unsafe { uv::key_of(handle) };
        let Some(client) = CLIENTS.with(|c| c.borrow().get(&key).and_then(|w| w.upgrade())) else {
            return;
        };
        let expired = match &client.pool {
            Some(pool) => pool.borrow_mut().state.reap(Instant::now()),
            None => Vec::new(),
        };
        drop(expired);
    });
}

/// `Err(outcome)` ends the send.
type Flow = Result<(), Result<Ack, Failure>>;

impl LoopSend {
    fn on(&mut self, event: Event) -> Flow {
        let want = match (event, self.ex.phase()) {
            (Event::Start, _) => return self.begin(),
            (Event::SlotFree, Phase::Waiting) => {
                let client = self.client.clone();
                let Some(pool) = &client.pool else {
                    return Ok(());
                };
                let acquired = pool
                    .borrow_mut()
                    .state
                    .with_slot(Instant::now(), LoopConn::is_stale);
                // Handed a slot: `with` never waits again.
                self.holds_slot = true;
                return self.with(acquired);
            }
            (Event::Timer, Phase::Done) => return Ok(()),
            // libuv counts whole milliseconds: a timer may fire a little early.
            (Event::Timer, _) if Instant::now() < self.ex.deadline() => {
                self.armed = None;
                return self.arm();
            }
            (Event::Timer, _) => self.ex.deadline_reached(),
            (Event::Ready, Phase::Connecting) => match self.connect_progress() {
                Some(want) => want,
                None => return Ok(()),
            },
            (Event::Ready, Phase::Writing) => Want::Write,
            (Event::Ready, Phase::Reading) => Want::Read,
            // A callback that no longer applies (e.g. a poll event after the phase moved on).
            _ => return Ok(()),
        };
        self.drive(want)
    }

    /// Do what the exchange wants until it waits for the socket or the timer, or is done.
    fn drive(&mut self, mut want: Want) -> Flow {
        // Right after the last write the ACK cannot be there yet: wait for input instead of
        // trying a read. This also keeps a send from settling inside `send()` itself, before
        // the JS layer has recorded its Promise.
        let mut wrote = false;
        loop {
            want = match want {
                Want::Read if wrote => return self.wait_for(IN),
                Want::Slot => return self.arm(),
                Want::AwaitReset => {
                    // Not watched meanwhile: the socket stays readable (end of stream).
                    if let Some(conn) = self.conn.as_mut() {
                        conn.unwatch();
                    }
                    return self.arm();
                }
                Want::CheckReset => {
                    let reset = self
                        .conn
                        .as_ref()
                        .is_some_and(|conn| peer_reset(&conn.sock));
                    self.ex.reset_check(reset, Instant::now())
                }
                Want::Connect | Want::Reconnect => {
                    self.conn = None;
                    match self.open() {
                        Ok(()) => match self.connect_progress() {
                            Some(want) => want,
                            None => return self.wait_for(OUT),
                        },
                        Err(e) => self.ex.failed(e, Instant::now()),
                    }
                }
                Want::Write => {
                    let Some(conn) = self.conn.as_mut() else {
                        return Err(Err(internal("writing without a connection")));
                    };
                    let slices = self.ex.unwritten().map(IoSlice::new);
                    match conn.sock.write_vectored(&slices) {
                        Ok(n) => {
                            wrote = true;
                            self.ex.wrote(n)
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            return self.wait_for(OUT)
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => Want::Write,
                        Err(e) => self.ex.failed(e, Instant::now()),
                    }
                }
                Want::Read | Want::Drain => {
                    let draining = matches!(want, Want::Drain);
                    let Some(conn) = self.conn.as_mut() else {
                        return Err(Err(internal("reading without a connection")));
                    };
                    let now = Instant::now();
                    match conn.sock.read(self.ex.read_buf()) {
                        Ok(0) => self.ex.eof(peer_reset(&conn.sock), now),
                        Ok(n) => self.ex.read(n, now),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock && draining => {
                            self.ex.drained()
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            return self.wait_for(IN)
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => want,
                        Err(e) => self.ex.failed(e, now),
                    }
                }
                // send() ends on its first ACK frame: the engine never yields one here.
                Want::Ack(ack) => return Err(Ok(ack)),
                Want::Done(outcome) => return Err(outcome),
            };
        }
    }

    fn begin(&mut self) -> Flow {
        let client = self.client.clone();
        let Some(pool) = &client.pool else {
            let want = self.ex.connect();
            return self.drive(want);
        };
        let acquired =
            pool.borrow_mut()
                .state
                .acquire(self.key, Instant::now(), LoopConn::is_stale);
        self.with(acquired)
    }

    /// What the pool gave this send.
    fn with(&mut self, acquired: Acquire<LoopConn>) -> Flow {
        let want = match acquired {
            Acquire::Closed => return Err(Err(Failure::unsent(closed_client()))),
            Acquire::Wait => self.ex.wait_for_slot(),
            Acquire::Connect => {
                self.holds_slot = true;
                self.ex.connect()
            }
            Acquire::Reuse(mut conn) => {
                self.holds_slot = true;
                conn.set_owner(Owner::Send(self.key));
                if let (None, Some(timer)) = (&self.timer, conn.spare_timer.take()) {
                    timer.set_key(self.key);
                    self.timer = Some(timer);
                }
                let reader = conn.reader.take();
                self.conn = Some(conn);
                let max = self.client.settings.max_frame_bytes;
                self.ex.reuse(
                    reader.unwrap_or_else(|| FrameReader::new(max)),
                    Instant::now(),
                )
            }
        };
        self.drive(want)
    }

    /// Open a new non-blocking TCP connection (on loopback it is often up before `connect`
    /// returns, so the first write goes out at once).
    fn open(&mut self) -> io::Result<()> {
        let addr = self.client.addr;
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM.nonblocking().cloexec(),
            Some(socket2::Protocol::TCP),
        )?;
        // ACKs are small and latency-bound: never wait for Nagle.
        let _ = socket.set_tcp_nodelay(true);
        match socket.connect(&addr.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(e),
        }
        let pooled = self.client.pool.is_some();
        self.conn = Some(LoopConn::new(
            &self.client.lp,
            socket.into(),
            Owner::Send(self.key),
            pooled,
        )?);
        Ok(())
    }

    /// Whether the non-blocking connect finished: the engine's next step, or `None` while it
    /// is still in progress (a wake-up is only a hint).
    fn connect_progress(&mut self) -> Option<Want> {
        let conn = self.conn.as_ref()?;
        match conn.sock.take_error() {
            Ok(None) => {}
            Ok(Some(e)) | Err(e) => return Some(self.ex.failed(e, Instant::now())),
        }
        match conn.sock.peer_addr() {
            Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => None,
            _ => Some(self.ex.connected(false, Instant::now())),
        }
    }

    /// Wait for `events` on the connection, with the timer set to the exchange's deadline.
    fn wait_for(&mut self, events: u32) -> Flow {
        self.arm()?;
        let conn = self
            .conn
            .as_mut()
            .ok_or_else(|| Err(internal("waiting without a connection")))?;
        match conn.watch(&self.client.reactor, events) {
            Ok(()) => Ok(()),
            Err(e) => {
                let want = self.ex.failed(e, Instant::now());
                self.drive(want)
            }
        }
    }

    /// Set the timer to the exchange's current deadline (a system call only when it moved).
    fn arm(&mut self) -> Flow {
        let deadline = self.ex.deadline();
        if self.armed == Some(deadline) {
            return Ok(());
        }
        if self.timer.is_none() {
            match self.client.lp.timer() {
                Ok(timer) => {
                    timer.set_key(self.key);
                    self.timer = Some(timer);
                }
                Err(e) => {
                    return Err(Err(Failure::unsent(MllpError::ConnectionClosed(format!(
                        "cannot start a timer: {e}"
                    )))))
                }
            }
        }
        if let Some(timer) = &self.timer {
            let ms = deadline
                .saturating_duration_since(Instant::now())
                .as_millis()
                .max(1);
            timer.timer_start(u64::try_from(ms).unwrap_or(u64::MAX), 0, on_timer);
        }
        self.armed = Some(deadline);
        Ok(())
    }

    /// Tear down (timer, and the connection: back to the pool when the exchange says it may
    /// carry another message, closed otherwise) and say what to deliver.
    fn finish(&mut self, outcome: Result<Ack, Failure>) -> Done {
        let timer = self.timer.take();
        // A send that waited for a slot and gave up (timeout, abort) leaves the queue.
        if let (false, Some(pool)) = (self.holds_slot, &self.client.pool) {
            pool.borrow_mut().state.cancel_wait(|&k| k == self.key);
        }
        let reader = if outcome.is_ok() {
            self.ex.take_reusable()
        } else {
            None
        };
        let mut kept = None;
        if let (Some(mut conn), Some(reader), true) =
            (self.conn.take(), reader, self.client.pool.is_some())
        {
            if let Some(timer) = timer {
                timer.timer_stop();
                conn.spare_timer = Some(timer);
            }
            conn.reader = Some(reader);
            kept = Some(conn);
        }
        Done {
            client: self.client.clone(),
            id: self.id,
            holds_slot: std::mem::take(&mut self.holds_slot),
            conn: kept,
            outcome,
        }
    }
}

/// After the peer's end of stream: whether a reset came too (our bytes reached a socket
/// that was already closed), as `SO_ERROR` EPIPE/ECONNRESET.
fn peer_reset(sock: &TcpStream) -> bool {
    matches!(sock.take_error(), Ok(Some(e)) if matches!(e.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset))
}

fn internal(what: &str) -> Failure {
    Failure::unsent(MllpError::ConnectionClosed(format!(
        "internal error in the MLLP client (please report): {what}"
    )))
}

thread_local! {
    static PANIC_TIMER: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

/// Test hook (not part of the public API): a libuv timer whose callback panics, to prove
/// that a panic in an event-loop callback is caught there instead of aborting the process.
/// Returns false where there is no libuv loop (call it on Node only).
#[napi_derive::napi(js_name = "__panicOnEventLoopForTests")]
#[cfg_attr(test, allow(dead_code))] // registered with napi; unused in unit tests
pub fn panic_on_event_loop_for_tests(env: &napi::Env) -> napi::Result<bool> {
    let Some(lp) = Loop::of(env.raw()) else {
        return Ok(false);
    };
    let timer = lp
        .timer()
        .map_err(|e| napi::Error::from_reason(e.to_string()))?;
    timer.timer_start(1, 0, panicking_timer);
    PANIC_TIMER.with(|t| *t.borrow_mut() = Some(timer));
    Ok(true)
}

#[cfg_attr(test, allow(dead_code))] // registered with napi; unused in unit tests
unsafe extern "C" fn panicking_timer(_handle: *mut c_void) {
    no_unwind(|| {
        PANIC_TIMER.with(|t| t.borrow_mut().take());
        if std::hint::black_box(true) {
            panic!("deliberate panic on the event loop for tests");
        }
    });
}
