//! `send()` and `stream()` on the JS thread's own event loop (Node, plain TCP, a host given
//! as an IP address): connect, write and read without leaving the JS thread, and settle the
//! Promise right there. Why: see `uv.rs`. Everything else (TLS, host names, Bun, Deno) runs
//! on the tokio runtime; both paths use the same core (`Prepared`, `FrameReader`,
//! `ack_from_frame`, the error texts of `transport.rs`) so they behave alike, and the test
//! suite runs on both.
//!
//! One send is a small state machine driven by libuv callbacks: Waiting (for a pool slot)
//! -> Connecting -> Writing -> Reading -> done. Everything lives in the environment's
//! `EnvContext` (`Registry`: sends, streams, clients, connections); callbacks find their
//! send through a number kept in the handle, never a pointer, so a late callback for a
//! finished send finds nothing and does nothing. No `RefCell` borrow is held while JS runs: a
//! settled Promise may start the next send from inside `settle`, and a stream's consumer
//! calls `next()` from inside the resolution of the previous frame.

// `Flow`'s error side carries the send's outcome, once per send: boxing it would allocate per
// send for nothing.
#![allow(clippy::result_large_err)]

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::ffi::c_void;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use napi::sys;

use super::client::NativeAck;
use super::context::EnvContext;
use super::reactor::{self, Reactor, IN, OUT};
use super::settle::Settlement;
use super::uv::Handle;
use super::{no_unwind, panic_error, to_js_error};
use crate::ack::Ack;
use crate::engine::exchange::{Mode, Phase};
use crate::engine::{Acquire, ClientSettings, Exchange, PoolState, Want};
use crate::error::{Failure, MllpError};
use crate::frame::FrameReader;
use crate::message::Prepared;
use std::panic::{catch_unwind, AssertUnwindSafe};

type Sends = RefCell<HashMap<usize, Rc<RefCell<LoopSend>>>>;

/// One environment's event-loop state (in its `EnvContext`).
#[derive(Default)]
pub(crate) struct Registry {
    sends: Sends,
    /// The exchanges of `stream()` calls (the same keys as `sends`, never the same key twice).
    streams: Sends,
    clients: RefCell<HashMap<usize, std::rc::Weak<LoopClient>>>,
    /// Every open connection (its token) -> who its events go to.
    conns: RefCell<HashMap<u64, Owner>>,
    /// The last key handed out (keys start at 1).
    last_key: Cell<usize>,
}

impl Registry {
    fn next_key(&self) -> usize {
        let key = self.last_key.get().wrapping_add(1).max(1);
        self.last_key.set(key);
        key
    }

    fn send(&self, key: usize) -> Option<Rc<RefCell<LoopSend>>> {
        self.sends.borrow().get(&key).cloned()
    }

    fn stream(&self, key: usize) -> Option<Rc<RefCell<LoopSend>>> {
        self.streams.borrow().get(&key).cloned()
    }

    /// Remove send `key`, if it is still pending.
    fn take_send(&self, key: usize) -> Option<Rc<RefCell<LoopSend>>> {
        self.sends.borrow_mut().remove(&key)
    }

    /// Remove stream `key`, if it is still open.
    fn take_stream(&self, key: usize) -> Option<Rc<RefCell<LoopSend>>> {
        self.streams.borrow_mut().remove(&key)
    }

    fn client(&self, key: usize) -> Option<Rc<LoopClient>> {
        self.clients.borrow().get(&key).and_then(|w| w.upgrade())
    }

    /// Environment teardown (see `context.rs`): take every pending send and stream, to drop
    /// once their handles are closed. Their Promises are never settled: nothing is left to
    /// run them.
    pub(crate) fn take_all(&self) -> Vec<Rc<RefCell<LoopSend>>> {
        let mut all: Vec<_> = self.sends.borrow_mut().drain().map(|(_, s)| s).collect();
        all.extend(self.streams.borrow_mut().drain().map(|(_, s)| s));
        all
    }
}

#[derive(Clone, Copy)]
enum Owner {
    /// In use by the send with this key.
    Send(usize),
    /// Idle in the pool of the client with this key.
    Idle(usize),
}

/// How a connection is watched (`reactor::kind`, see `reactor.rs`).
enum Watch {
    /// In the environment's mio reactor (edge-triggered).
    Reactor(Rc<Reactor>),
    /// Its own libuv poll handle (level-triggered). Unref'd: an idle pooled connection must
    /// not keep the process alive (a pending send does, through its deadline timer).
    Own(Handle),
}

/// A connection owned by the event loop. Field order matters: `watch` (a poll handle) is
/// closed before the socket, as libuv requires.
struct LoopConn {
    watch: Watch,
    context: Rc<EnvContext>,
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
    fn new(context: &Rc<EnvContext>, sock: TcpStream, owner: Owner) -> io::Result<LoopConn> {
        let token = context.registry.next_key() as u64;
        let watch = match reactor::kind() {
            reactor::Kind::Mio => Watch::Reactor(context.reactor()?),
            reactor::Kind::UvPoll => {
                let poll = context.lp.poll(sock.as_raw_fd())?;
                poll.set_key(token as usize);
                poll.unref();
                Watch::Own(poll)
            }
        };
        context.registry.conns.borrow_mut().insert(token, owner);
        Ok(LoopConn {
            watch,
            context: context.clone(),
            token,
            sock,
            reader: None,
            spare_timer: None,
            watching: 0,
        })
    }

    /// Watch for `events` (`IN`/`OUT`); a system call only when they change.
    fn watch(&mut self, events: u32) -> io::Result<()> {
        if self.watching == events {
            return Ok(());
        }
        match &self.watch {
            Watch::Reactor(reactor) if self.watching == 0 => {
                reactor.add(self.sock.as_raw_fd(), self.token, events)?
            }
            Watch::Reactor(reactor) => reactor.modify(self.sock.as_raw_fd(), self.token, events)?,
            Watch::Own(poll) => {
                let status = poll.poll_start(reactor::uv_events(events), on_poll);
                if status != 0 {
                    return Err(io::Error::from_raw_os_error(-status));
                }
            }
        }
        self.watching = events;
        Ok(())
    }

    /// Stop watching until the next `watch` (a stream between two `next()` calls, a send
    /// waiting to see whether a reset follows an end of stream): a readable socket left
    /// watched would wake a level-triggered poll handle again and again, and an
    /// edge-triggered registration must report what is there when it is watched again.
    fn pause(&mut self) {
        if self.watching == 0 {
            return;
        }
        match &self.watch {
            Watch::Reactor(reactor) => {
                let _ = reactor.remove(self.sock.as_raw_fd());
            }
            Watch::Own(poll) => poll.poll_stop(),
        }
        self.watching = 0;
    }

    fn set_owner(&self, owner: Owner) {
        if let Some(slot) = self
            .context
            .registry
            .conns
            .borrow_mut()
            .get_mut(&self.token)
        {
            *slot = owner;
        }
    }

    /// True when an idle connection can no longer be trusted: closed, reset, or carrying
    /// bytes nobody asked for (a late ACK must never answer the next message).
    fn is_stale(&self) -> bool {
        !matches!(self.sock.peek(&mut [0u8; 1]), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

impl Drop for LoopConn {
    /// Closing the socket (after this) also removes it from the reactor's set.
    fn drop(&mut self) {
        self.context.registry.conns.borrow_mut().remove(&self.token);
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
    context: Rc<EnvContext>,
    env: sys::napi_env,
    settle_ref: sys::napi_ref,
    async_context: sys::napi_async_context,
    settings: Arc<ClientSettings>,
    addr: SocketAddr,
    pool: Option<RefCell<LoopPool>>,
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
        let context = EnvContext::of(env)?;
        if reactor::kind() == reactor::Kind::Mio {
            context.reactor().ok()?;
        }
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
            key: context.registry.next_key(),
            context,
            env,
            settle_ref,
            async_context,
            addr: SocketAddr::new(ip, settings.port),
            settings,
            pool: pool.map(|(max, idle_timeout)| {
                RefCell::new(LoopPool {
                    state: PoolState::new(max, idle_timeout),
                    reaper: None,
                })
            }),
        });
        client
            .context
            .registry
            .clients
            .borrow_mut()
            .insert(client.key, Rc::downgrade(&client));
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
        let key = self.context.registry.next_key();
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
            pooled: self.pool.is_some(),
            stream: None,
        };
        let registry = &self.context.registry;
        registry
            .sends
            .borrow_mut()
            .insert(key, Rc::new(RefCell::new(send)));
        match step(&self.context, key, Event::Start) {
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
            finish(&self.context, key, Err(Failure::unsent(closed_client())));
        }
    }

    /// Abort send `key` (AbortSignal): close its connection now.
    pub(crate) fn abort(&self, key: usize) {
        finish(&self.context, key, Err(Failure::unsent(MllpError::Aborted)));
    }

    fn drop_idle(&self, token: u64) {
        let Some(pool) = &self.pool else { return };
        let gone = pool
            .borrow_mut()
            .state
            .drop_idle(|conn| conn.token == token);
        drop(gone);
    }

    /// A `stream()` on this client's loop; nothing happens until its first `next()`.
    pub(crate) fn stream(
        self: &Rc<Self>,
        prepared: Result<Prepared, MllpError>,
        ack_timeout: Duration,
    ) -> LoopStream {
        LoopStream {
            client: self.clone(),
            key: self.context.registry.next_key(),
            start: RefCell::new(Some(prepared)),
            ack_timeout,
            closed: Cell::new(false),
        }
    }

    /// Resolve a stream's `next()` Promises: `ready` frames in order, then, when it ended,
    /// its outcome. From a libuv callback (`in_js` false) inside a callback scope, whose
    /// closing runs the microtasks (the consumer's loop body) as `napi_make_callback` does.
    fn resolve_frames(
        &self,
        ready: Vec<(sys::napi_deferred, Ack)>,
        end: Option<StreamEnd>,
        in_js: bool,
    ) {
        let env = self.env;
        // SAFETY: on the JS thread of `env` (a libuv callback or a napi call of this client);
        // every deferred is an unsettled one of `env`, settled once here (taken by value);
        // the scopes are opened and closed in order, and `async_context` lives as long as
        // this client.
        unsafe {
            let mut scope = std::ptr::null_mut();
            if sys::napi_open_handle_scope(env, &mut scope) != sys::Status::napi_ok {
                return;
            }
            let mut callback_scope = std::ptr::null_mut();
            if !in_js {
                let mut resource = std::ptr::null_mut();
                sys::napi_get_global(env, &mut resource);
                sys::napi_open_callback_scope(
                    env,
                    resource,
                    self.async_context,
                    &mut callback_scope,
                );
            }
            for (deferred, ack) in ready {
                settle_deferred(env, deferred, Ok(Some(ack)));
            }
            if let Some((waiting, outcome)) = end {
                let mut waiting = waiting.into_iter();
                if let Some(first) = waiting.next() {
                    settle_deferred(env, first, outcome);
                }
                for rest in waiting {
                    settle_deferred(env, rest, Ok(None));
                }
            }
            if !callback_scope.is_null() {
                sys::napi_close_callback_scope(env, callback_scope);
            }
            sys::napi_close_handle_scope(env, scope);
        }
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
            if !self.context.registry.sends.borrow().contains_key(&key) {
                continue; // gone already: the slot goes to the next one
            }
            match step(&self.context, key, Event::SlotFree) {
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
        if let Ok(timer) = self.context.lp.timer() {
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
        self.context.registry.clients.borrow_mut().remove(&self.key);
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
    /// A stream's consumer called `next()` again.
    Resume,
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
    /// Uses the client's pool (a `send()` of a client with `pool`; never a stream, as on
    /// tokio: a stream's connection is its own).
    pooled: bool,
    /// `Some` for a `stream()`: where its frames go.
    stream: Option<StreamPart>,
}

/// A `stream()`'s side of its exchange. It runs only while a `next()` waits: after a frame it
/// stops reading and stops its timer until the consumer asks again (the next frame's
/// `ackTimeout` runs from the CA all the same, as on tokio).
#[derive(Default)]
struct StreamPart {
    /// The Promises of the `next()` calls waiting for a frame, oldest first.
    waiting: VecDeque<sys::napi_deferred>,
    /// The exchange's next step, kept while no `next()` waits.
    paused: Option<Want>,
    /// Frames matched to their `next()`, resolved once no state is borrowed.
    ready: Vec<(sys::napi_deferred, Ack)>,
}

/// A finished send, to deliver once no state is borrowed.
struct Done {
    client: Rc<LoopClient>,
    id: u32,
    holds_slot: bool,
    /// The connection, for the pool, when it may carry another message.
    conn: Option<LoopConn>,
    /// A stream's waiting `next()` calls and undelivered frames.
    stream: Option<StreamPart>,
    outcome: Result<Ack, Failure>,
}

impl Done {
    fn deliver(self) {
        if self.holds_slot {
            self.client.release_slot(self.conn);
        }
        match self.stream {
            Some(part) => self.client.resolve_frames(
                part.ready,
                Some((part.waiting, self.outcome.map(Some))),
                false,
            ),
            None => self.client.settle(self.id, self.outcome),
        }
    }
}

/// What a stream ended with: its waiting `next()` calls (the first gets the outcome, the
/// others the end of the stream) and the outcome (`None`: the end).
type StreamEnd = (VecDeque<sys::napi_deferred>, Result<Option<Ack>, Failure>);

/// `client.stream()` on the event loop: the `NativeAckStream` of `client.rs` holds one.
pub(crate) struct LoopStream {
    client: Rc<LoopClient>,
    key: usize,
    /// The message until the first `next()` starts the exchange (its `connectTimeout` runs
    /// from there, as on tokio); a bad message is reported there.
    start: RefCell<Option<Result<Prepared, MllpError>>>,
    ack_timeout: Duration,
    /// `close()` was called: every later `next()` is `ABORTED`, as on tokio.
    closed: Cell<bool>,
}

impl LoopStream {
    /// The next frame, as a Promise settled on this thread (`null` after the final one).
    pub(crate) fn next(&self) -> napi::Result<sys::napi_value> {
        let env = self.client.env;
        let mut deferred = std::ptr::null_mut();
        let mut promise = std::ptr::null_mut();
        // SAFETY: called from a napi method, on the JS thread of `env` (the client's); the
        // out-pointers are locals.
        if unsafe { sys::napi_create_promise(env, &mut deferred, &mut promise) }
            != sys::Status::napi_ok
        {
            return Err(napi::Error::from_reason("cannot create a Promise"));
        }
        let at_once = |outcome: Result<Option<Ack>, Failure>| {
            let end = (VecDeque::from([deferred]), outcome);
            self.client.resolve_frames(Vec::new(), Some(end), true);
        };
        if self.closed.get() {
            at_once(Err(Failure::unsent(MllpError::Aborted)));
            return Ok(promise);
        }
        let start = self.start.borrow_mut().take();
        match start {
            Some(Err(error)) => at_once(Err(Failure::unsent(error))),
            Some(Ok(prepared)) => {
                let ex = Exchange::new(
                    self.client.settings.clone(),
                    prepared,
                    self.ack_timeout,
                    Mode::Stream,
                    Instant::now(),
                );
                let send = LoopSend {
                    key: self.key,
                    id: 0,
                    client: self.client.clone(),
                    ex,
                    conn: None,
                    timer: None,
                    armed: None,
                    holds_slot: false,
                    pooled: false,
                    stream: Some(StreamPart {
                        waiting: VecDeque::from([deferred]),
                        ..StreamPart::default()
                    }),
                };
                let send = Rc::new(RefCell::new(send));
                let context = &self.client.context;
                context.registry.streams.borrow_mut().insert(self.key, send);
                stream_step(context, self.key, Event::Start, true);
            }
            None => match self.client.context.registry.stream(self.key) {
                Some(cell) => {
                    if let Some(part) = cell.borrow_mut().stream.as_mut() {
                        part.waiting.push_back(deferred);
                    }
                    stream_step(&self.client.context, self.key, Event::Resume, true);
                }
                None => at_once(Ok(None)),
            },
        }
        Ok(promise)
    }

    /// Close the connection now (loop left early, AbortSignal); a waiting `next()` is
    /// `ABORTED`.
    pub(crate) fn close(&self) {
        self.closed.set(true);
        self.start.borrow_mut().take();
        let Some(cell) = self.client.context.registry.take_stream(self.key) else {
            return;
        };
        let done = cell
            .borrow_mut()
            .finish(Err(Failure::unsent(MllpError::Aborted)));
        drop(cell);
        let part = done.stream.unwrap_or_default();
        let end = (part.waiting, done.outcome.map(Some));
        done.client.resolve_frames(part.ready, Some(end), true);
    }
}

impl Drop for LoopStream {
    /// Garbage collected: close the connection. A `next()` still waiting (nobody can await
    /// it any more) is left unsettled: a finalizer must not run JS.
    fn drop(&mut self) {
        drop(self.client.context.registry.take_stream(self.key));
    }
}

/// Advance send `key` by `event`; `Some` when it finished (already removed from the registry).
fn step(context: &EnvContext, key: usize, event: Event) -> Option<Done> {
    let cell = context.registry.send(key)?;
    let outcome = {
        let mut send = cell.borrow_mut();
        match send.on_guarded(event) {
            Ok(()) => return None,
            Err(outcome) => send.finish(outcome),
        }
    };
    context.registry.take_send(key);
    Some(outcome)
}

/// A libuv event for send or stream `key`.
fn advance(context: &EnvContext, key: usize, event: Event) {
    if context.registry.sends.borrow().contains_key(&key) {
        if let Some(done) = step(context, key, event) {
            done.deliver();
        }
    } else {
        stream_step(context, key, event, false);
    }
}

/// Advance stream `key` by `event` and resolve what it produced: frames for the waiting
/// `next()` calls and, when it ended, its outcome. `in_js`: called from a JS call (`next()`,
/// `close()`), where Node runs the microtasks itself when the call returns.
fn stream_step(context: &EnvContext, key: usize, event: Event, in_js: bool) {
    let Some(cell) = context.registry.stream(key) else {
        return;
    };
    let (client, ready, done) = {
        let mut send = cell.borrow_mut();
        let flow = send.on_guarded(event);
        let ready = send
            .stream
            .as_mut()
            .map(|part| std::mem::take(&mut part.ready))
            .unwrap_or_default();
        let done = flow.err().map(|outcome| send.finish(outcome));
        (send.client.clone(), ready, done)
    };
    let end = done.map(|done| {
        context.registry.take_stream(key);
        (
            done.stream.unwrap_or_default().waiting,
            done.outcome.map(Some),
        )
    });
    if !ready.is_empty() || end.is_some() {
        client.resolve_frames(ready, end, in_js);
    }
}

/// Finish send `key` from outside (abort, pool closed) and deliver its outcome.
fn finish(context: &EnvContext, key: usize, outcome: Result<Ack, Failure>) {
    let removed = context.registry.take_send(key);
    let Some(cell) = removed else {
        return;
    };
    let done = cell.borrow_mut().finish(outcome);
    done.deliver();
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
        if let Some((context, token)) = unsafe { EnvContext::of_handle(handle) } {
            on_ready(context, token as u64);
        }
    });
}

/// Every readiness event of an environment's sockets arrives here (`token`: the connection's).
pub(crate) fn on_ready(context: &EnvContext, token: u64) {
    let owner = context.registry.conns.borrow().get(&token).copied();
    match owner {
        Some(Owner::Send(key)) => advance(context, key, Event::Ready),
        // Input on an idle pooled connection: closed by the receiver, or bytes nobody
        // asked for. Either way it can no longer be trusted.
        Some(Owner::Idle(client)) => {
            if let Some(client) = context.registry.client(client) {
                client.drop_idle(token);
            }
        }
        None => {}
    }
}

unsafe extern "C" fn on_timer(handle: *mut c_void) {
    no_unwind(|| {
        // SAFETY: `handle` is the timer handle libuv passed to this callback.
        if let Some((context, key)) = unsafe { EnvContext::of_handle(handle) } {
            advance(context, key, Event::Timer);
        }
    });
}

/// Close pooled connections idle for longer than `idleTimeout`.
unsafe extern "C" fn on_reap(handle: *mut c_void) {
    no_unwind(|| {
        // SAFETY: `handle` is the timer handle libuv passed to this callback.
        let Some((context, key)) = (unsafe { EnvContext::of_handle(handle) }) else {
            return;
        };
        let Some(client) = context.registry.client(key) else {
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
    /// `on`, where a bug must end this exchange as an error, not unwind into libuv.
    fn on_guarded(&mut self, event: Event) -> Flow {
        let sent = self.ex.is_sent();
        catch_unwind(AssertUnwindSafe(|| self.on(event))).unwrap_or_else(|panic| {
            Err(Err(Failure {
                error: panic_error(panic),
                sent,
            }))
        })
    }

    fn on(&mut self, event: Event) -> Flow {
        if let Some(part) = &mut self.stream {
            if let Event::Resume = event {
                return match part.paused.take() {
                    Some(want) => self.drive(want),
                    None => Ok(()),
                };
            }
            if part.waiting.is_empty() {
                // Nobody asked for a frame (a late wake-up after the pause).
                return Ok(());
            }
        }
        let want = match (event, self.ex.phase()) {
            (Event::Start, _) => return self.begin(),
            (Event::Resume, _) => return Ok(()),
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
                        conn.pause();
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
                    match conn.sock.write(self.ex.unwritten()) {
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
                // send() ends on its first ACK frame: the engine never yields one to it.
                Want::Ack(ack) => {
                    let Some(part) = self.stream.as_mut() else {
                        return Err(Ok(ack));
                    };
                    let resumed = self.ex.resume(Instant::now());
                    if let Some(next) = part.waiting.pop_front() {
                        part.ready.push((next, ack));
                    }
                    if !part.waiting.is_empty() {
                        resumed
                    } else {
                        part.paused = Some(resumed);
                        return self.pause();
                    }
                }
                Want::Done(outcome) => return Err(outcome),
            };
        }
    }

    fn begin(&mut self) -> Flow {
        let client = self.client.clone();
        let Some(pool) = client.pool.as_ref().filter(|_| self.pooled) else {
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
        self.conn = Some(LoopConn::new(
            &self.client.context,
            socket.into(),
            Owner::Send(self.key),
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
        match conn.watch(events) {
            Ok(()) => Ok(()),
            Err(e) => {
                let want = self.ex.failed(e, Instant::now());
                self.drive(want)
            }
        }
    }

    /// A stream's frame went to the last waiting `next()`: neither read nor time out until the
    /// consumer asks again.
    fn pause(&mut self) -> Flow {
        if let Some(timer) = &self.timer {
            timer.timer_stop();
        }
        self.armed = None;
        if let Some(conn) = self.conn.as_mut() {
            conn.pause();
        }
        Ok(())
    }

    /// Set the timer to the exchange's current deadline (a system call only when it moved).
    fn arm(&mut self) -> Flow {
        let deadline = self.ex.deadline();
        if self.armed == Some(deadline) {
            return Ok(());
        }
        if self.timer.is_none() {
            match self.client.context.lp.timer() {
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
        if let (false, true, Some(pool)) = (self.holds_slot, self.pooled, &self.client.pool) {
            pool.borrow_mut().state.cancel_wait(|&k| k == self.key);
        }
        let reader = if outcome.is_ok() {
            self.ex.take_reusable()
        } else {
            None
        };
        let mut kept = None;
        if let (Some(mut conn), Some(reader), true) = (self.conn.take(), reader, self.pooled) {
            if let Some(timer) = timer {
                timer.timer_stop();
                conn.spare_timer = Some(timer);
            }
            conn.reader = Some(reader);
            kept = Some(conn);
        }
        // Not kept: closed now, before the outcome is delivered.
        self.conn = None;
        Done {
            client: self.client.clone(),
            id: self.id,
            holds_slot: std::mem::take(&mut self.holds_slot),
            conn: kept,
            stream: self.stream.take(),
            outcome,
        }
    }
}

/// Resolve `deferred` with a frame (`NativeAck`) or `null`, or reject it with the error
/// `lib/errors.cjs` reads (its message is the JSON reason, as for a tokio-path rejection).
/// Must run on the JS thread of `env`, inside a handle scope; `deferred` is unsettled.
fn settle_deferred(
    env: sys::napi_env,
    deferred: sys::napi_deferred,
    outcome: Result<Option<Ack>, Failure>,
) {
    use napi::bindgen_prelude::ToNapiValue;
    let reason = match outcome {
        Ok(ack) => {
            let mut value = std::ptr::null_mut();
            // SAFETY: on the JS thread of `env` inside a handle scope (this function's contract);
            // the out-pointer is a local.
            let made = unsafe {
                match ack {
                    Some(ack) => {
                        NativeAck::to_napi_value(env, NativeAck::from(ack)).map(|ack| value = ack)
                    }
                    None => {
                        sys::napi_get_null(env, &mut value);
                        Ok(())
                    }
                }
            };
            match made {
                // SAFETY: `deferred` is unsettled and of `env` (this function's contract).
                Ok(()) => unsafe {
                    sys::napi_resolve_deferred(env, deferred, value);
                    return;
                },
                Err(error) => error.reason,
            }
        }
        Err(failure) => to_js_error(failure).reason,
    };
    // SAFETY: as above; the out-pointers are locals.
    unsafe {
        let mut message = std::ptr::null_mut();
        let mut error = std::ptr::null_mut();
        sys::napi_create_string_utf8(
            env,
            reason.as_ptr().cast(),
            reason.len() as isize,
            &mut message,
        );
        sys::napi_create_error(env, std::ptr::null_mut(), message, &mut error);
        sys::napi_reject_deferred(env, deferred, error);
    }
}

/// Test hook (not part of the public API): how many `stream()` exchanges run on this
/// thread's event loop now. Under `GLION_MLLP_IO=tokio` (or where there is no event-loop
/// path) always 0.
#[napi_derive::napi(js_name = "__eventLoopStreamsForTests")]
#[cfg_attr(test, allow(dead_code))] // registered with napi; unused in unit tests
pub fn event_loop_streams_for_tests(env: &napi::Env) -> u32 {
    EnvContext::of(env.raw()).map_or(0, |context| context.registry.streams.borrow().len() as u32)
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

/// Test hook (not part of the public API): a libuv timer whose callback panics, to prove
/// that a panic in an event-loop callback is caught there instead of aborting the process.
/// Returns false where there is no libuv loop (call it on Node only).
#[napi_derive::napi(js_name = "__panicOnEventLoopForTests")]
#[cfg_attr(test, allow(dead_code))] // registered with napi; unused in unit tests
pub fn panic_on_event_loop_for_tests(env: &napi::Env) -> napi::Result<bool> {
    let Some(context) = EnvContext::of(env.raw()) else {
        return Ok(false);
    };
    let timer = context
        .lp
        .timer()
        .map_err(|e| napi::Error::from_reason(e.to_string()))?;
    timer.timer_start(1, 0, panicking_timer);
    *context.panic_timer.borrow_mut() = Some(timer);
    Ok(true)
}

#[cfg_attr(test, allow(dead_code))] // registered with napi; unused in unit tests
unsafe extern "C" fn panicking_timer(handle: *mut c_void) {
    no_unwind(|| {
        // SAFETY: `handle` is the timer handle libuv passed to this callback.
        if let Some((context, _)) = unsafe { EnvContext::of_handle(handle) } {
            let timer = context.panic_timer.borrow_mut().take();
            drop(timer);
        }
        if std::hint::black_box(true) {
            panic!("deliberate panic on the event loop for tests");
        }
    });
}
