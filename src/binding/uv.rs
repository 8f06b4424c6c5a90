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
use std::collections::HashSet;
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

fn api() -> Option<&'static Api> {
    static API: OnceLock<Option<Api>> = OnceLock::new();
    API.get_or_init(|| unsafe {
        fn find(name: &CStr) -> Option<*mut c_void> {
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
        let size = unsafe { (self.api.handle_size)(kind) };
        let ptr = unsafe { libc::calloc(1, size) };
        if ptr.is_null() {
            return Err(std::io::Error::from(std::io::ErrorKind::OutOfMemory));
        }
        let status = init(ptr);
        if status != 0 {
            unsafe { libc::free(ptr) };
            return Err(std::io::Error::from_raw_os_error(-status));
        }
        LIVE.with(|live| live.borrow_mut().insert(ptr as usize));
        Ok(Handle {
            ptr,
            lp: self.raw,
            api: self.api,
        })
    }

    /// A poll handle watching `fd` (not started).
    pub fn poll(&self, fd: c_int) -> std::io::Result<Handle> {
        self.handle(UV_POLL, |ptr| unsafe {
            (self.api.poll_init_socket)(self.raw, ptr, fd)
        })
    }

    pub fn timer(&self) -> std::io::Result<Handle> {
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
    /// The loop it belongs to.
    lp: *mut c_void,
    api: &'static Api,
}

impl Handle {
    /// A number handed back to the callbacks (an index, never a pointer to Rust memory).
    pub fn set_key(&self, key: usize) {
        unsafe { (self.api.set_data)(self.ptr, key as *mut c_void) }
    }

    /// False once the environment cleanup hook closed it (the memory is gone then).
    fn live(&self) -> bool {
        LIVE.with(|live| live.borrow().contains(&(self.ptr as usize)))
    }

    /// Start (or change the events of) a poll handle. Returns libuv's status (0 = ok).
    pub fn poll_start(&self, events: c_int, cb: PollCallback) -> c_int {
        if !self.live() {
            return -libc::EBADF;
        }
        unsafe { (self.api.poll_start)(self.ptr, events, cb) }
    }

    /// Start (or restart) a timer `ms` from now. libuv counts from the time it cached at the
    /// start of the loop turn, which may be long ago inside a busy callback (a large message
    /// being built): refresh it first, or the deadline fires early.
    pub fn timer_start(&self, ms: u64, repeat: u64, cb: TimerCallback) {
        if self.live() {
            unsafe {
                (self.api.update_time)(self.lp);
                (self.api.timer_start)(self.ptr, cb, ms, repeat)
            };
        }
    }

    pub fn timer_stop(&self) {
        if self.live() {
            unsafe { (self.api.timer_stop)(self.ptr) };
        }
    }

    /// Do not keep the process alive for this handle (the reactor, the idle reaper).
    pub fn unref(&self) {
        if self.live() {
            unsafe { (self.api.unref)(self.ptr) }
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // Already closed by the environment cleanup hook when it is no longer recorded; and
        // when this thread's locals are being destroyed (process exit) there is no loop to
        // close it on.
        if LIVE
            .try_with(|live| live.borrow_mut().remove(&(self.ptr as usize)))
            .unwrap_or(false)
        {
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
        Some(api) => unsafe { (api.get_data)(handle) as usize },
        None => usize::MAX,
    }
}

unsafe extern "C" fn free_handle(handle: *mut c_void) {
    unsafe { libc::free(handle) };
}

thread_local! {
    /// Handles opened on this thread's loop and not closed yet.
    static LIVE: RefCell<HashSet<usize>> = RefCell::new(HashSet::new());
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
        let handles: Vec<usize> = LIVE.with(|live| live.borrow_mut().drain().collect());
        // Their handles are no longer recorded as live: dropping them closes nothing twice.
        drop(sends);
        drop(reactor);
        let Some(api) = api().filter(|_| !handles.is_empty()) else {
            unsafe { sys::napi_remove_async_cleanup_hook(hook) };
            return;
        };
        CLEANUP_HANDLE.with(|h| h.set(hook));
        CLOSING.with(|c| c.set(handles.len()));
        for ptr in handles {
            unsafe { (api.close)(ptr as *mut c_void, Some(closed_at_cleanup)) };
        }
    });
}

unsafe extern "C" fn closed_at_cleanup(handle: *mut c_void) {
    unsafe { libc::free(handle) };
    let left = CLOSING.with(|c| {
        let left = c.get().saturating_sub(1);
        c.set(left);
        left
    });
    if left == 0 {
        let hook = CLEANUP_HANDLE.with(|h| h.replace(std::ptr::null_mut()));
        if !hook.is_null() {
            unsafe { sys::napi_remove_async_cleanup_hook(hook) };
        }
    }
}
