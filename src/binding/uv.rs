//! Just enough libuv to wait for sockets and timers on Node's own event loop.
//!
//! Why: a send that runs on the tokio thread crosses threads twice (JS -> I/O thread, I/O
//! thread -> JS), and on the benchmark machine those wake-ups, not the work, were most of a
//! send's cost (issue 7). Waiting on the JS thread's loop makes a send cost one wake-up, as
//! in a hand-written `node:net` client, with the framing and ACK checks still in Rust.
//!
//! Only Node has a real libuv loop behind `napi_get_uv_event_loop` (Bun and Deno do not), so
//! the functions are looked up at run time, and Rust decides (`Loop::of`) whether this path
//! exists. Handles are allocated with `uv_handle_size` (after a small header of ours) and
//! reached only through libuv functions: no struct layout is assumed. Every open handle is
//! recorded in its `Loop` (one per napi environment, in its `EnvContext`), whose cleanup
//! closes what is left when a worker thread or the process ends, as libuv requires before
//! its loop can close.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::{c_int, c_void, CStr};
use std::rc::Rc;
use std::sync::OnceLock;

use napi::sys;

pub const READABLE: c_int = 1;
pub const WRITABLE: c_int = 2;

const UV_POLL: c_int = 8;
const UV_TIMER: c_int = 13;

pub type PollCallback = unsafe extern "C" fn(handle: *mut c_void, status: c_int, events: c_int);
pub type TimerCallback = unsafe extern "C" fn(handle: *mut c_void);
pub type CloseCallback = unsafe extern "C" fn(handle: *mut c_void);

struct Api {
    handle_size: unsafe extern "C" fn(c_int) -> usize,
    poll_init_socket: unsafe extern "C" fn(*mut c_void, *mut c_void, c_int) -> c_int,
    poll_start: unsafe extern "C" fn(*mut c_void, c_int, PollCallback) -> c_int,
    poll_stop: unsafe extern "C" fn(*mut c_void) -> c_int,
    timer_init: unsafe extern "C" fn(*mut c_void, *mut c_void) -> c_int,
    timer_start: unsafe extern "C" fn(*mut c_void, TimerCallback, u64, u64) -> c_int,
    timer_stop: unsafe extern "C" fn(*mut c_void) -> c_int,
    close: unsafe extern "C" fn(*mut c_void, Option<CloseCallback>),
    set_data: unsafe extern "C" fn(*mut c_void, *mut c_void),
    get_data: unsafe extern "C" fn(*const c_void) -> *mut c_void,
    unref: unsafe extern "C" fn(*mut c_void),
    update_time: unsafe extern "C" fn(*mut c_void),
}

// Each transmute's target is the `Api` field it initializes (the function's C signature).
#[allow(clippy::missing_transmute_annotations)]
fn api() -> Option<&'static Api> {
    static API: OnceLock<Option<Api>> = OnceLock::new();
    // SAFETY: each symbol is libuv's function of that name, transmuted to the C signature of the field
    // it fills (libuv's stable ABI).
    API.get_or_init(|| unsafe {
        fn find(name: &CStr) -> Option<*mut c_void> {
            // SAFETY: `name` is NUL-terminated; dlsym only reads it.
            let f = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
            (!f.is_null()).then_some(f)
        }
        macro_rules! load {
            ($name:literal) => {
                std::mem::transmute::<*mut c_void, _>(find($name)?)
            };
        }
        Some(Api {
            handle_size: load!(c"uv_handle_size"),
            poll_init_socket: load!(c"uv_poll_init_socket"),
            poll_start: load!(c"uv_poll_start"),
            poll_stop: load!(c"uv_poll_stop"),
            timer_init: load!(c"uv_timer_init"),
            timer_start: load!(c"uv_timer_start"),
            timer_stop: load!(c"uv_timer_stop"),
            close: load!(c"uv_close"),
            set_data: load!(c"uv_handle_set_data"),
            get_data: load!(c"uv_handle_get_data"),
            unref: load!(c"uv_unref"),
            update_time: load!(c"uv_update_time"),
        })
    })
    .as_ref()
}

/// The event loop of one napi environment (its JS thread), when libuv is really there, and
/// the handles opened on it that are not closed yet.
pub struct Loop {
    raw: *mut c_void,
    api: &'static Api,
    /// Handles opened on this loop and not closed yet: address -> generation.
    live: RefCell<HashMap<usize, u64>>,
    next_generation: Cell<u64>,
    /// What every handle's `data` points to (the environment's context, see `context.rs`),
    /// so that callbacks, which get no `napi_env`, find it.
    context: Cell<*const c_void>,
}

/// Each handle's allocation starts with this header (16 bytes keep the handle 16-aligned):
/// the key its callbacks are for (a send, a client, a connection), never a pointer to Rust
/// memory, so a late callback for something finished finds nothing.
const HEADER: usize = 16;

impl Loop {
    /// `None` unless the host is Node (not Bun or Deno, which export libuv-named symbols or
    /// a `napi_get_uv_event_loop` without a real libuv loop behind them) and libuv's
    /// functions resolve. This is the only place that decides; JS may only turn it off.
    pub fn of(env: sys::napi_env) -> Option<Loop> {
        if !host_is_node(env) {
            return None;
        }
        let api = api()?;
        let mut raw = std::ptr::null_mut();
        // SAFETY: `env` is the calling environment and `raw` a local out-pointer.
        let status = unsafe { sys::napi_get_uv_event_loop(env, &mut raw) };
        if status != sys::Status::napi_ok || raw.is_null() {
            return None;
        }
        Some(Loop {
            raw: raw.cast(),
            api,
            live: RefCell::new(HashMap::new()),
            next_generation: Cell::new(0),
            context: Cell::new(std::ptr::null()),
        })
    }

    /// Set what every handle's `data` points to (before the first handle is opened).
    pub fn set_context(&self, context: *const c_void) {
        self.context.set(context);
    }

    fn handle(
        self: &Rc<Self>,
        kind: c_int,
        init: impl FnOnce(*mut c_void) -> c_int,
    ) -> std::io::Result<Handle> {
        // SAFETY: `handle_size` is libuv's own, resolved by `api()`; it only reads `kind`.
        let size = unsafe { (self.api.handle_size)(kind) };
        // SAFETY: plain allocation; a null result is checked below.
        let base = unsafe { libc::calloc(1, HEADER + size) };
        if base.is_null() {
            return Err(std::io::Error::from(std::io::ErrorKind::OutOfMemory));
        }
        // SAFETY: `base` has `HEADER + size` bytes: the handle is the `size` bytes after the header.
        let ptr = unsafe { base.cast::<u8>().add(HEADER) }.cast::<c_void>();
        let status = init(ptr);
        if status != 0 {
            // SAFETY: `base` came from `calloc` above and was never handed to libuv (its init failed).
            unsafe { libc::free(base) };
            return Err(std::io::Error::from_raw_os_error(-status));
        }
        // SAFETY: `ptr` is an initialized handle; set_data only stores the pointer.
        unsafe { (self.api.set_data)(ptr, self.context.get().cast_mut()) };
        let generation = self.next_generation.get().wrapping_add(1);
        self.next_generation.set(generation);
        self.live.borrow_mut().insert(ptr as usize, generation);
        Ok(Handle {
            ptr,
            generation,
            lp: self.clone(),
        })
    }

    /// A poll handle watching `fd` (not started).
    pub fn poll(self: &Rc<Self>, fd: c_int) -> std::io::Result<Handle> {
        // SAFETY: `ptr` is a zeroed allocation of `uv_handle_size(UV_POLL)` bytes and `self.raw` this
        // environment's live loop.
        self.handle(UV_POLL, |ptr| unsafe {
            (self.api.poll_init_socket)(self.raw, ptr, fd)
        })
    }

    pub fn timer(self: &Rc<Self>) -> std::io::Result<Handle> {
        // SAFETY: `ptr` is a zeroed allocation of `uv_handle_size(UV_TIMER)` bytes and `self.raw` this
        // environment's live loop.
        self.handle(UV_TIMER, |ptr| unsafe {
            (self.api.timer_init)(self.raw, ptr)
        })
    }

    /// Environment teardown: close every handle still open; `closed` is called for each
    /// once libuv is done with it (after freeing it). Returns how many were closed. Their
    /// `Handle`s, dropped later, close nothing twice.
    pub fn close_all(&self, closed: CloseCallback) -> usize {
        let handles: Vec<usize> = self.live.borrow_mut().drain().map(|(ptr, _)| ptr).collect();
        for &ptr in &handles {
            // SAFETY: every address in `live` is an open handle of this loop (drained above, so closed
            // once); `closed` is given the handle and frees it with `free_closed`.
            unsafe { (self.api.close)(ptr as *mut c_void, Some(closed)) };
        }
        handles.len()
    }
}

/// Whether the JS host is Node: `process.versions.node` is a string, and there is no
/// `process.versions.bun` and no global `Deno`.
fn host_is_node(env: sys::napi_env) -> bool {
    /// `object[name]`, when `object` is an object and the lookup succeeds.
    fn property(
        env: sys::napi_env,
        object: sys::napi_value,
        name: &CStr,
    ) -> Option<sys::napi_value> {
        let mut value = std::ptr::null_mut();
        // SAFETY: `env` is the calling thread's environment (we are inside a napi call),
        // `object` a live value of it, `name` a NUL-terminated string.
        let status =
            unsafe { sys::napi_get_named_property(env, object, name.as_ptr(), &mut value) };
        (status == sys::Status::napi_ok && !value.is_null()).then_some(value)
    }
    fn type_of(env: sys::napi_env, value: sys::napi_value) -> sys::napi_valuetype {
        let mut kind = sys::ValueType::napi_undefined;
        // SAFETY: as in `property`; `value` is a live value of `env`.
        unsafe { sys::napi_typeof(env, value, &mut kind) };
        kind
    }
    let mut global = std::ptr::null_mut();
    // SAFETY: as in `property`.
    if unsafe { sys::napi_get_global(env, &mut global) } != sys::Status::napi_ok {
        return false;
    }
    let defined = |value: Option<sys::napi_value>| {
        value.is_some_and(|v| type_of(env, v) != sys::ValueType::napi_undefined)
    };
    if defined(property(env, global, c"Deno")) {
        return false;
    }
    let Some(versions) =
        property(env, global, c"process").and_then(|p| property(env, p, c"versions"))
    else {
        return false;
    };
    if type_of(env, versions) != sys::ValueType::napi_object
        || defined(property(env, versions, c"bun"))
    {
        return false;
    }
    property(env, versions, c"node").is_some_and(|v| type_of(env, v) == sys::ValueType::napi_string)
}

/// An open libuv handle, closed on drop (libuv frees nothing itself: the close callback
/// frees the memory once the loop is done with it).
pub struct Handle {
    ptr: *mut c_void,
    /// Which opening of `ptr` this is: memory freed after the cleanup hook closed this handle
    /// may be allocated to a new handle at the same address, which must not pass for this one.
    generation: u64,
    /// The loop it belongs to.
    lp: Rc<Loop>,
}

impl Handle {
    /// The key handed back to the callbacks (see `HEADER`).
    pub fn set_key(&self, key: usize) {
        // SAFETY: `self.ptr` is preceded by its `HEADER`, part of the same allocation, which
        // lives until libuv closed the handle (after this `Handle` is gone).
        unsafe { self.ptr.cast::<usize>().sub(1).write(key) }
    }

    /// False once the environment cleanup hook closed it (the memory is gone then).
    fn live(&self) -> bool {
        self.lp.live.borrow().get(&(self.ptr as usize)) == Some(&self.generation)
    }

    /// Start (or change the events of) a poll handle. Returns libuv's status (0 = ok).
    pub fn poll_start(&self, events: c_int, cb: PollCallback) -> c_int {
        if !self.live() {
            return -libc::EBADF;
        }
        // SAFETY: `live()` says the handle is open (not closed by the cleanup hook) and this generation's.
        unsafe { (self.lp.api.poll_start)(self.ptr, events, cb) }
    }

    /// Stop a poll handle until the next `poll_start`.
    pub fn poll_stop(&self) {
        if self.live() {
            // SAFETY: the handle is live (checked above) and a poll handle.
            unsafe { (self.lp.api.poll_stop)(self.ptr) };
        }
    }

    /// Start (or restart) a timer `ms` from now. libuv counts from the time it cached at the
    /// start of the loop turn, which may be long ago inside a busy callback (a large message
    /// being built): refresh it first, or the deadline fires early.
    pub fn timer_start(&self, ms: u64, repeat: u64, cb: TimerCallback) {
        if self.live() {
            // SAFETY: the handle is live (checked above) and a timer; `self.lp.raw` is its loop.
            unsafe {
                (self.lp.api.update_time)(self.lp.raw);
                (self.lp.api.timer_start)(self.ptr, cb, ms, repeat)
            };
        }
    }

    pub fn timer_stop(&self) {
        if self.live() {
            // SAFETY: the handle is live (checked above) and a timer.
            unsafe { (self.lp.api.timer_stop)(self.ptr) };
        }
    }

    /// Do not keep the process alive for this handle (the reactor, the idle reaper).
    pub fn unref(&self) {
        if self.live() {
            // SAFETY: the handle is live (checked above).
            unsafe { (self.lp.api.unref)(self.ptr) }
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // Already closed by the environment cleanup hook when it is no longer recorded.
        let ours = {
            let mut live = self.lp.live.borrow_mut();
            let ours = live.get(&(self.ptr as usize)) == Some(&self.generation);
            if ours {
                live.remove(&(self.ptr as usize));
            }
            ours
        };
        if ours {
            // SAFETY: this generation of the handle was still open, and was just removed from `live`: it is
            // closed exactly once; `free_handle` frees it when libuv is done.
            unsafe { (self.lp.api.close)(self.ptr, Some(free_handle)) };
        }
    }
}

/// What a callback's handle carries: its `data` (the environment's context, see
/// `Loop::set_context`) and its key (see `Handle::set_key`).
///
/// # Safety
/// `handle` must be a handle passed to a libuv callback (opened by `Loop::handle`).
pub unsafe fn parts_of(handle: *mut c_void) -> (*const c_void, usize) {
    let Some(api) = api() else {
        return (std::ptr::null(), usize::MAX);
    };
    // SAFETY: the caller passes a handle libuv gave its callback (the function's contract), which
    // `Loop::handle` allocated after its `HEADER`.
    unsafe {
        (
            (api.get_data)(handle).cast_const(),
            handle.cast::<usize>().sub(1).read(),
        )
    }
}

/// Free a closed handle's memory (its header included).
///
/// # Safety
/// `handle` must be a handle opened by `Loop::handle` that libuv has finished closing.
pub unsafe fn free_closed(handle: *mut c_void) {
    // SAFETY: the handle lies `HEADER` bytes into an allocation made by `calloc` in `Loop::handle`
    // (the function's contract).
    unsafe { libc::free(handle.cast::<u8>().sub(HEADER).cast()) };
}

unsafe extern "C" fn free_handle(handle: *mut c_void) {
    // SAFETY: libuv calls this once the handle is closed; `Loop::handle` opened it.
    unsafe { free_closed(handle) };
}
