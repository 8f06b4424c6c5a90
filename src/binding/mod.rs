//! The napi binding layer: converts JS values to core types and back, nothing else.
//! Errors cross as a JSON reason that `lib/errors.cjs` turns back into `MllpClientError`.

// Every `unsafe` here is FFI (napi, libuv, libc) and says why it is sound.
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

mod ack_for_tests;
mod charset;
mod client;
#[cfg(all(feature = "event-loop", target_os = "linux"))]
mod context;
#[cfg(all(feature = "event-loop", target_os = "linux"))]
mod loop_client;
#[cfg(not(all(feature = "event-loop", target_os = "linux")))]
#[path = "no_loop.rs"]
mod loop_client;
#[cfg(all(feature = "event-loop", target_os = "linux"))]
mod reactor;
mod receiver;
mod settle;
mod sqlite_store;
#[cfg(all(feature = "event-loop", target_os = "linux"))]
mod uv;

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::{Failure, MllpError};

/// The I/O runtime: one tokio worker unless `TOKIO_WORKER_THREADS` says otherwise.
///
/// Why one: MLLP is one message in flight per connection, so the work per send is a few
/// syscalls; one worker keeps up with the JS thread at any concurrency we measured, while a
/// second one mostly adds wake-ups (workers waking each other to steal a task that is already
/// being run), which cost 10-13% of a send on the 2-core benchmark machine (issue 7).
#[napi_derive::module_init]
fn init_runtime() {
    let workers = std::env::var("TOKIO_WORKER_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1);
    if let Ok(runtime) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
    {
        napi::bindgen_prelude::create_custom_tokio_runtime(runtime);
    }
}

/// A napi error whose message is the JSON reason `{kind, code, sent, message}`.
pub(crate) fn to_js_error(failure: Failure) -> napi::Error {
    let reason = serde_json::json!({
        "kind": "MllpClientError",
        "code": failure.error.code(),
        "sent": failure.sent,
        "message": failure.error.to_string(),
    });
    napi::Error::from_reason(reason.to_string())
}

pub(crate) fn invalid(error: MllpError) -> napi::Error {
    to_js_error(Failure::unsent(error))
}

/// What a caught panic is reported as: a bug in the core must reach the caller as an
/// ordinary rejection, never unwind across the FFI boundary or leave a Promise pending.
pub(crate) fn panic_error(panic: Box<dyn std::any::Any + Send>) -> MllpError {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    MllpError::ConnectionClosed(format!(
        "internal error in the MLLP client (please report): {text}"
    ))
}

/// Run the body of a callback that libuv calls: a panic must not unwind into C (it would
/// abort the process). What it was doing is settled by the caller's own guard (`step`).
#[cfg(all(feature = "event-loop", target_os = "linux"))]
pub(crate) fn no_unwind(f: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(f));
}

/// Turns a panic inside a future into an ordinary rejected Promise: a bug in the core must
/// never unwind across the FFI boundary or leave a Promise unsettled.
pub(crate) struct CatchPanic<F>(pub F);

impl<T, F: Future<Output = napi::Result<T>>> Future for CatchPanic<F> {
    type Output = napi::Result<T>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: structural pinning of the only field; it is never moved out.
        let inner = unsafe { self.map_unchecked_mut(|s| &mut s.0) };
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(poll) => poll,
            Err(panic) => Poll::Ready(Err(to_js_error(Failure::unsent(panic_error(panic))))),
        }
    }
}

/// Test hook (not part of the public API): a future that panics, to prove that a panic in
/// the core becomes a rejected Promise instead of unwinding into JS or hanging.
#[napi_derive::napi(js_name = "__panicInFutureForTests", ts_return_type = "Promise<void>")]
#[cfg_attr(test, allow(dead_code))] // registered with napi; unused in unit tests
pub fn panic_in_future_for_tests(
    env: &napi::Env,
) -> napi::Result<napi::bindgen_prelude::PromiseRaw<'_, ()>> {
    env.spawn_future(CatchPanic(async {
        tokio::task::yield_now().await;
        if std::hint::black_box(true) {
            panic!("deliberate panic for tests");
        }
        Ok(())
    }))
}
