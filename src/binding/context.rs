//! One context per napi environment (the main thread's, each worker thread's): everything
//! the event-loop path keeps between calls, stored as the environment's napi instance data.
//!
//! Why not thread-locals: a value's life must be the environment's, not the thread's (a
//! thread's locals are destroyed inside `exit()` on `process.exit()`, after Node tore
//! down, and nothing ties them to one environment). Calls from JS find the context through
//! `napi_get_instance_data`; libuv callbacks, which get no `napi_env`, through the `data`
//! pointer of their handle (`uv::parts_of`).
//!
//! Life: an `Rc`. The instance data holds one reference (released by its finalizer), the
//! environment's async cleanup hook another (released once the last handle it closed is
//! freed), each client one: whichever of them goes last frees it, and every open handle's
//! `data` stays valid while the handle can still call back.

use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::io;
use std::rc::Rc;

use napi::sys;

use super::loop_client::Registry;
use super::reactor::Reactor;
use super::uv::{self, Handle, Loop};

pub(crate) struct EnvContext {
    pub lp: Rc<Loop>,
    /// The sends, streams, clients and connections of this environment's event-loop path.
    pub registry: Registry,
    /// The mio reactor, made on first use (`reactor::Kind::Mio`).
    reactor: RefCell<Option<Rc<Reactor>>>,
    /// The test hook `__panicOnEventLoopForTests`'s timer.
    pub panic_timer: RefCell<Option<Handle>>,
    /// Close callbacks still to come during environment cleanup, and the hook to remove then.
    closing: Cell<usize>,
    hook: Cell<sys::napi_async_cleanup_hook_handle>,
}

impl EnvContext {
    /// The context of `env` (the calling environment), made on first use; `None` where
    /// the event-loop path does not exist (not Node, no libuv: see `Loop::of`).
    pub fn of(env: sys::napi_env) -> Option<Rc<EnvContext>> {
        let mut data = std::ptr::null_mut();
        // SAFETY: `env` is the calling environment; `data` is a local out-pointer.
        if unsafe { sys::napi_get_instance_data(env, &mut data) } != sys::Status::napi_ok {
            return None;
        }
        if !data.is_null() {
            let ptr = data.cast_const().cast::<EnvContext>();
            // SAFETY: this addon's instance data is only ever set below, to a strong reference of
            // an `Rc<EnvContext>` that stays until the finalizer releases it; we add one for the caller.
            return Some(unsafe {
                Rc::increment_strong_count(ptr);
                Rc::from_raw(ptr)
            });
        }
        let lp = Loop::of(env)?;
        let context = Rc::new(EnvContext {
            lp: Rc::new(lp),
            registry: Registry::default(),
            reactor: RefCell::new(None),
            panic_timer: RefCell::new(None),
            closing: Cell::new(0),
            hook: Cell::new(std::ptr::null_mut()),
        });
        context.lp.set_context(Rc::as_ptr(&context).cast());
        let held = Rc::into_raw(context.clone()).cast_mut().cast::<c_void>();
        // SAFETY: `env` is the calling environment; `held` is a strong reference that
        // `finalize` releases once.
        let status =
            unsafe { sys::napi_set_instance_data(env, held, Some(finalize), std::ptr::null_mut()) };
        if status != sys::Status::napi_ok {
            // SAFETY: `held` came from `Rc::into_raw` above and was not handed to napi.
            drop(unsafe { Rc::from_raw(held.cast_const().cast::<EnvContext>()) });
            return None;
        }
        let for_hook = Rc::into_raw(context.clone()).cast_mut().cast::<c_void>();
        let mut hook = std::ptr::null_mut();
        // SAFETY: `env` is the calling environment; `for_hook` is a strong reference that
        // `close_all` takes over; `hook` is a local out-pointer.
        let status =
            unsafe { sys::napi_add_async_cleanup_hook(env, Some(close_all), for_hook, &mut hook) };
        if status != sys::Status::napi_ok {
            // SAFETY: `for_hook` came from `Rc::into_raw` above and napi refused it.
            drop(unsafe { Rc::from_raw(for_hook.cast_const().cast::<EnvContext>()) });
        }
        Some(context)
    }

    /// The context a libuv callback's handle belongs to, and the handle's key.
    ///
    /// # Safety
    /// `handle` must be a handle passed to a libuv callback, opened by a `Loop` of an
    /// `EnvContext` (every one is). The reference is valid for the callback's duration.
    pub unsafe fn of_handle<'a>(handle: *mut c_void) -> Option<(&'a EnvContext, usize)> {
        // SAFETY: the caller's contract is `parts_of`'s.
        let (data, key) = unsafe { uv::parts_of(handle) };
        let context = data.cast::<EnvContext>();
        // SAFETY: every handle's `data` is its context (`Loop::set_context` before the first handle);
        // an open handle's context is alive (see the module comment).
        unsafe { context.as_ref() }.map(|context| (context, key))
    }

    /// The mio reactor, made on first use.
    pub fn reactor(&self) -> io::Result<Rc<Reactor>> {
        if let Some(reactor) = self.reactor.borrow().as_ref() {
            return Ok(reactor.clone());
        }
        let reactor = Rc::new(Reactor::new(&self.lp)?);
        *self.reactor.borrow_mut() = Some(reactor.clone());
        Ok(reactor)
    }

    /// The reactor, if one was made (a libuv callback of it).
    pub fn current_reactor(&self) -> Option<Rc<Reactor>> {
        self.reactor.borrow().clone()
    }
}

unsafe extern "C" fn finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    super::no_unwind(|| {
        // SAFETY: `data` is the strong reference `EnvContext::of` gave napi; released once.
        drop(unsafe { Rc::from_raw(data.cast_const().cast::<EnvContext>()) });
    });
}

/// Environment teardown (a worker thread ends, or the process does without `process.exit()`):
/// close every handle still open, then tell Node we are done. Pending sends are dropped
/// without settling their Promises: nothing is left to run them.
unsafe extern "C" fn close_all(hook: sys::napi_async_cleanup_hook_handle, arg: *mut c_void) {
    super::no_unwind(|| {
        // SAFETY: `arg` is the strong reference `EnvContext::of` gave this hook; taken over here.
        let context = unsafe { Rc::from_raw(arg.cast_const().cast::<EnvContext>()) };
        let sends = context.registry.take_all();
        let reactor = context.reactor.borrow_mut().take();
        let panic_timer = context.panic_timer.borrow_mut().take();
        // Stop libuv watching every socket before the sockets are closed (dropping the sends);
        // their handles are no longer recorded as live, so dropping them closes nothing twice.
        let closing = context.lp.close_all(closed_at_cleanup);
        drop(sends);
        drop(reactor);
        drop(panic_timer);
        if closing == 0 {
            // SAFETY: `hook` is the handle Node passed to this cleanup hook; removed once.
            unsafe { sys::napi_remove_async_cleanup_hook(hook) };
            return;
        }
        context.hook.set(hook);
        context.closing.set(closing);
        // Kept until the last close callback (`closed_at_cleanup` releases it).
        let _ = Rc::into_raw(context);
    });
}

unsafe extern "C" fn closed_at_cleanup(handle: *mut c_void) {
    super::no_unwind(|| {
        // SAFETY: libuv calls this once the handle is closed: its context is alive (the cleanup
        // hook's reference), and the handle is read before it is freed, once.
        let (context, ()) = unsafe {
            let (data, _) = uv::parts_of(handle);
            uv::free_closed(handle);
            (data.cast::<EnvContext>(), ())
        };
        // SAFETY: as above: the hook's reference keeps it alive until released below.
        let Some(ctx) = (unsafe { context.as_ref() }) else {
            return;
        };
        let left = ctx.closing.get().saturating_sub(1);
        ctx.closing.set(left);
        if left == 0 {
            let hook = ctx.hook.replace(std::ptr::null_mut());
            if !hook.is_null() {
                // SAFETY: `hook` is the cleanup-hook handle saved in `close_all`, swapped out so it is
                // removed once.
                unsafe { sys::napi_remove_async_cleanup_hook(hook) };
            }
            // SAFETY: the reference `close_all` kept for this moment; released once (`left` is 0 once).
            drop(unsafe { Rc::from_raw(context) });
        }
    });
}
