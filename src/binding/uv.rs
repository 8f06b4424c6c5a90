//! Just enough libuv to wait for sockets and timers on Node's own event loop.
//!
//! Why: a send that runs on the tokio thread crosses threads twice (JS -> I/O thread, I/O
//! thread -> JS), and on the benchmark machine those wake-ups, not the work, were most of a
//! send's cost (issue 7). Waiting on the JS thread's loop makes a send cost one wake-up, as
//! in a hand-written `node:net` client, with the framing and ACK checks still in Rust.
//!
//! Only Node has a real libuv loop behind `napi_get_uv_event_loop` (Bun and Deno do not), so
//! the functions are looked up at run time and the JS layer asks for this path only on Node.
//! Handles are allocated with `uv_handle_size` and reached only through libuv functions: no
//! struct layout is assumed. Every open handle is recorded per thread, and an environment
//! cleanup hook closes what is left when a worker thread or the process ends, as libuv
//! requires before its loop can close.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::{c_int, c_void, CStr};
use std::sync::OnceLock;

use napi::sys;

pub const READABLE: c_int = 1;
pub const WRITABLE: c_int = 2;

const UV_POLL: c_int = 8;
const UV_TIMER: c_int = 13;

pub type PollCallback = unsafe extern "C" fn(handle: *mut c_void, status: c_int, events: c_int);
pub type TimerCallback = unsafe extern "C" fn(handle: *mut c_void);
type CloseCallback = unsafe extern "C" fn(handle: *mut c_void);

struct Api {
    handle_size: unsafe extern "C" fn(c_int) -> usize,
    poll_init_socket: unsafe extern "C" fn(*mut c_void, *mut c_void, c_int) -> c_int,
    poll_start: unsafe extern "C" fn(*mut c_void, c_int, PollCallback) -> c_int,
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

/// The event loop of the calling JS thread, when libuv is really there.
#[derive(Clone, Copy)]
pub struct Loop {
    raw: *mut c_void,
    api: &'static Api,
}

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
        install_cleanup_hook(env);
        Some(Loop {
            raw: raw.cast(),
            api,
        })
    }

    fn handle(
        &self,
        kind: c_int,
        init: impl FnOnce(*mut c_void) -> c_int,
    ) -> std::io::Result<Handle> {
        // SAFETY: `handle_size` is libuv's own, resolved by `api()`; it only reads `kind`.
        let size = unsafe { (self.api.handle_size)(kind) };
        // SAFETY: plain allocation; a null result is checked below.
        let ptr = unsafe { libc::calloc(1, size) };
        if ptr.is_null() {
            return Err(std::io::Error::from(std::io::ErrorKind::OutOfMemory));
        }
        let status = init(ptr);
        if status != 0 {
            // SAFETY: `ptr` came from `calloc` above and was never handed to libuv (its init failed).
            unsafe { libc::free(ptr) };
            return Err(std::io::Error::from_raw_os_error(-status));
        }
        let generation = NEXT_GENERATION.with(|g| {
            let generation = g.get().wrapping_add(1);
            g.set(generation);
            generation
        });
        LIVE.with(|live| live.borrow_mut().insert(ptr as usize, generation));
        Ok(Handle {
            ptr,
            generation,
            lp: self.raw,
            api: self.api,
        })
    }

    /// A poll handle watching `fd` (not started).
    pub fn poll(&self, fd: c_int) -> std::io::Result<Handle> {
        // SAFETY: `ptr` is a zeroed allocation of `uv_handle_size(UV_POLL)` bytes and `self.raw` this
        // thread's live loop.
        self.handle(UV_POLL, |ptr| unsafe {
            (self.api.poll_init_socket)(self.raw, ptr, fd)
        })
    }

    pub fn timer(&self) -> std::io::Result<Handle> {
        // SAFETY: `ptr` is a zeroed allocation of `uv_handle_size(UV_TIMER)` bytes and `self.raw` this
        // thread's live loop.
        self.handle(UV_TIMER, |ptr| unsafe {
            (self.api.timer_init)(self.raw, ptr)
        })
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
    lp: *mut c_void,
    api: &'static Api,
}

impl Handle {
    /// A number handed back to the callbacks (an index, never a pointer to Rust memory).
    pub fn set_key(&self, key: usize) {
        // SAFETY: `self.ptr` is an initialized handle: set_data only stores the pointer-sized value.
        unsafe { (self.api.set_data)(self.ptr, key as *mut c_void) }
    }

    /// False once the environment cleanup hook closed it (the memory is gone then).
    fn live(&self) -> bool {
        LIVE.with(|live| live.borrow().get(&(self.ptr as usize)) == Some(&self.generation))
    }

    /// Start (or change the events of) a poll handle. Returns libuv's status (0 = ok).
    pub fn poll_start(&self, events: c_int, cb: PollCallback) -> c_int {
        if !self.live() {
            return -libc::EBADF;
        }
        // SAFETY: `live()` says the handle is open (not closed by the cleanup hook) and this generation's.
        unsafe { (self.api.poll_start)(self.ptr, events, cb) }
    }

    /// Start (or restart) a timer `ms` from now. libuv counts from the time it cached at the
    /// start of the loop turn, which may be long ago inside a busy callback (a large message
    /// being built): refresh it first, or the deadline fires early.
    pub fn timer_start(&self, ms: u64, repeat: u64, cb: TimerCallback) {
        if self.live() {
            // SAFETY: the handle is live (checked above) and a timer; `self.lp` is its loop.
            unsafe {
                (self.api.update_time)(self.lp);
                (self.api.timer_start)(self.ptr, cb, ms, repeat)
            };
        }
    }

    pub fn timer_stop(&self) {
        if self.live() {
            // SAFETY: the handle is live (checked above) and a timer.
            unsafe { (self.api.timer_stop)(self.ptr) };
        }
    }

    /// Do not keep the process alive for this handle (the reactor, the idle reaper).
    pub fn unref(&self) {
        if self.live() {
            // SAFETY: the handle is live (checked above).
            unsafe { (self.api.unref)(self.ptr) }
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // Already closed by the environment cleanup hook when it is no longer recorded; and
        // when this thread's locals are being destroyed (process exit) there is no loop to
        // close it on.
        let ours = LIVE.try_with(|live| {
            let mut live = live.borrow_mut();
            let ours = live.get(&(self.ptr as usize)) == Some(&self.generation);
            if ours {
                live.remove(&(self.ptr as usize));
            }
            ours
        });
        if ours.unwrap_or(false) {
            // SAFETY: this generation of the handle was still open, and was just removed from `LIVE`: it is
            // closed exactly once; `free_handle` frees it when libuv is done.
            unsafe { (self.api.close)(self.ptr, Some(free_handle)) };
        }
    }
}

/// A thread-local value that is leaked, not dropped, when the thread's locals are destroyed.
/// On `process.exit()` glibc runs the main thread's TLS destructors inside `exit()`:
/// dropping a pending send then would close libuv handles and release napi references
/// while Node is shutting down (and touch other thread locals already gone). Worker threads
/// never get here with anything left: the environment cleanup hook takes it first.
pub struct LeakAtExit<T: Default>(pub RefCell<T>);

impl<T: Default> Drop for LeakAtExit<T> {
    fn drop(&mut self) {
        std::mem::forget(std::mem::take(self.0.get_mut()));
    }
}

impl<T: Default> std::ops::Deref for LeakAtExit<T> {
    type Target = RefCell<T>;
    fn deref(&self) -> &RefCell<T> {
        &self.0
    }
}

/// The key a callback's handle carries (see `Handle::set_key`).
///
/// # Safety
/// `handle` must be a handle passed to a libuv callback.
pub unsafe fn key_of(handle: *mut c_void) -> usize {
    match api() {
        // SAFETY: the caller passes a handle libuv gave its callback (the function's contract).
        Some(api) => unsafe { (api.get_data)(handle) as usize },
        None => usize::MAX,
    }
}

unsafe extern "C" fn free_handle(handle: *mut c_void) {
    // SAFETY: libuv calls this once the handle is closed; it was allocated with `calloc` in
    // `Loop::handle`.
    unsafe { libc::free(handle) };
}

thread_local! {
    /// Handles opened on this thread's loop and not closed yet: address -> generation.
    static LIVE: RefCell<HashMap<usize, u64>> = RefCell::new(HashMap::new());
    static NEXT_GENERATION: Cell<u64> = const { Cell::new(0) };
    static HOOK_INSTALLED: Cell<bool> = const { Cell::new(false) };
    /// Close callbacks still to come during environment cleanup.
    static CLOSING: Cell<usize> = const { Cell::new(0) };
    static CLEANUP_HANDLE: Cell<sys::napi_async_cleanup_hook_handle> = const { Cell::new(std::ptr::null_mut()) };
}

fn install_cleanup_hook(env: sys::napi_env) {
    if HOOK_INSTALLED.with(|h| h.replace(true)) {
        return;
    }
    let mut handle = std::ptr::null_mut();
    // SAFETY: `env` is the calling environment; the hook and its handle out-pointer are valid for the
    // call.
    unsafe {
        sys::napi_add_async_cleanup_hook(env, Some(close_all), std::ptr::null_mut(), &mut handle)
    };
}

/// Environment teardown: close every handle still open, then tell Node we are done.
unsafe extern "C" fn close_all(hook: sys::napi_async_cleanup_hook_handle, _: *mut c_void) {
    super::no_unwind(|| {
        HOOK_INSTALLED.with(|h| h.set(false));
        let sends = super::loop_client::take_all();
        let reactor = super::reactor::take();
        let handles: Vec<usize> =
            LIVE.with(|live| live.borrow_mut().drain().map(|(ptr, _)| ptr).collect());
        // Their handles are no longer recorded as live: dropping them closes nothing twice.
        drop(sends);
        drop(reactor);
        let Some(api) = api().filter(|_| !handles.is_empty()) else {
            // SAFETY: `hook` is the handle Node passed to this cleanup hook; removed once.
            unsafe { sys::napi_remove_async_cleanup_hook(hook) };
            return;
        };
        CLEANUP_HANDLE.with(|h| h.set(hook));
        CLOSING.with(|c| c.set(handles.len()));
        for ptr in handles {
            // SAFETY: every address in `LIVE` is an open handle of this loop (drained above, so closed once);
            // `closed_at_cleanup` frees it.
            unsafe { (api.close)(ptr as *mut c_void, Some(closed_at_cleanup)) };
        }
    });
}

unsafe extern "C" fn closed_at_cleanup(handle: *mut c_void) {
    // SAFETY: libuv calls this once the handle is closed; it was allocated with `calloc` in
    // `Loop::handle`.
    unsafe { libc::free(handle) };
    let left = CLOSING.with(|c| {
        let left = c.get().saturating_sub(1);
        c.set(left);
        left
    });
    if left == 0 {
        let hook = CLEANUP_HANDLE.with(|h| h.replace(std::ptr::null_mut()));
        if !hook.is_null() {
            // SAFETY: `hook` is the cleanup-hook handle saved in `close_all`, swapped out so it is removed
            // once.
            unsafe { sys::napi_remove_async_cleanup_hook(hook) };
        }
    }
}
