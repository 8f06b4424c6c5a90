//! `Settler`: one long-lived threadsafe function per client that settles every `send()` on
//! the JS thread.
//!
//! Why not napi-rs's `spawn_future`: it creates a threadsafe function (a libuv handle) for
//! every Promise and closes it again, and each settlement is its own wake-up of the event
//! loop. Profiles of the benchmark (issue 7) put that at several microseconds per send; with
//! one threadsafe function, sends that finish together are delivered in one wake-up.
//!
//! A pending Promise must keep the process alive, and an idle client must not: the function
//! is created weak (unreferenced) and referenced while at least one send is pending.

use std::ffi::c_void;
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::sys;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};

use super::client::NativeAckError;
use crate::ack::Ack;

/// One finished send as the JS settle callback receives it, positionally:
/// `(id, reason, code, controlId, message, errorCode, severity, errors, raw)`. `reason` is
/// the JSON error reason (`lib/errors.cjs`) or null; on success the ACK's fields follow
/// (absent ones undefined, `errors` null when there are none). Positional arguments let JS
/// build the public `Ack` once, instead of converting an intermediate object.
pub struct Settlement {
    pub id: u32,
    pub outcome: std::result::Result<Ack, String>,
}

pub(crate) const SETTLE_ARGS: usize = 9;

impl Settlement {
    /// The callback's arguments. Must run on the JS thread, inside a handle scope.
    pub(crate) fn into_args(self, env: sys::napi_env) -> Result<[sys::napi_value; SETTLE_ARGS]> {
        // SAFETY: called on the JS thread of `env` inside a handle scope (the function's contract); every
        // out-pointer is a local.
        unsafe {
            let mut undefined = std::ptr::null_mut();
            let mut null = std::ptr::null_mut();
            sys::napi_get_undefined(env, &mut undefined);
            sys::napi_get_null(env, &mut null);
            let text = |value: Option<String>| match value {
                Some(v) => String::to_napi_value(env, v),
                None => Ok(undefined),
            };
            let id = u32::to_napi_value(env, self.id)?;
            Ok(match self.outcome {
                Err(reason) => {
                    let reason = String::to_napi_value(env, reason)?;
                    [
                        id, reason, undefined, undefined, undefined, undefined, undefined,
                        undefined, undefined,
                    ]
                }
                Ok(ack) => {
                    let errors = if ack.errors.is_empty() {
                        null
                    } else {
                        let list: Vec<NativeAckError> =
                            ack.errors.into_iter().map(Into::into).collect();
                        Vec::to_napi_value(env, list)?
                    };
                    [
                        id,
                        null,
                        <&str>::to_napi_value(env, ack.code.as_str())?,
                        String::to_napi_value(env, ack.control_id)?,
                        text(ack.message)?,
                        text(ack.error_code)?,
                        text(ack.severity)?,
                        errors,
                        String::to_napi_value(env, ack.raw)?,
                    ]
                }
            })
        }
    }
}

impl JsValuesTupleIntoVec for Settlement {
    fn into_vec(self, env: sys::napi_env) -> Result<Vec<sys::napi_value>> {
        Ok(self.into_args(env)?.to_vec())
    }
}

type SettleFn = ThreadsafeFunction<Settlement, (), Settlement, Status, false, true>;

/// How many sends are pending, and the raw function to reference while any is.
/// Both are only touched on the JS thread; atomics keep the type `Send` for the callback.
struct Liveness {
    pending: AtomicU32,
    raw: AtomicPtr<c_void>,
}

impl Liveness {
    fn raw(&self) -> sys::napi_threadsafe_function {
        self.raw.load(Ordering::Acquire).cast()
    }

    /// Called on the JS thread when a send starts.
    fn begin(&self, env: &Env) {
        if self.pending.fetch_add(1, Ordering::AcqRel) == 0 {
            // Fails only while the environment is being torn down; nothing to keep alive then.
            // SAFETY: called on the JS thread of `env` with the function created for it in `Settler::new`,
            // which lives as long as `Liveness`.
            unsafe { sys::napi_ref_threadsafe_function(env.raw(), self.raw()) };
        }
    }

    /// Called on the JS thread when a send's outcome is delivered.
    fn finish(&self, env: &Env) {
        if self.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            // SAFETY: as in `begin`.
            unsafe { sys::napi_unref_threadsafe_function(env.raw(), self.raw()) };
        }
    }
}

pub(crate) struct Settler {
    function: Arc<SettleFn>,
    live: Arc<Liveness>,
}

impl Settler {
    pub(crate) fn new(callback: &Function<'_, Settlement, ()>) -> Result<Self> {
        let live = Arc::new(Liveness {
            pending: AtomicU32::new(0),
            raw: AtomicPtr::new(std::ptr::null_mut()),
        });
        let on_js_thread = live.clone();
        let function: SettleFn = callback
            .build_threadsafe_function::<Settlement>()
            .weak::<true>()
            .callee_handled::<false>()
            .build_callback(move |ctx| {
                on_js_thread.finish(&ctx.env);
                Ok(ctx.value)
            })?;
        live.raw.store(function.raw().cast(), Ordering::Release);
        Ok(Settler {
            function: Arc::new(function),
            live,
        })
    }

    /// On the JS thread, as a send starts: the returned handle delivers its outcome once.
    pub(crate) fn begin(&self, env: &Env) -> PendingSend {
        self.live.begin(env);
        PendingSend {
            function: self.function.clone(),
        }
    }
}

/// The right to settle one send; moves to the I/O thread with the exchange.
pub(crate) struct PendingSend {
    function: Arc<SettleFn>,
}

impl PendingSend {
    pub(crate) fn settle(self, id: u32, outcome: Result<Ack>) {
        let outcome = outcome.map_err(|error| error.reason);
        // Fails only once the environment is closing (worker exit): nobody is waiting then.
        let _ = self.function.call(
            Settlement { id, outcome },
            ThreadsafeFunctionCallMode::NonBlocking,
        );
    }
}
