//! Where the event-loop path does not exist (it is built and tested on Linux only, and
//! needs the `event-loop` feature): the same names, and every send runs on the tokio runtime.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use napi::sys;

use crate::client::ClientSettings;
use crate::error::{Failure, MllpError};
use crate::message::Prepared;

/// Never made here: `new` always says "use tokio".
pub(crate) enum LoopClient {}

impl LoopClient {
    pub(crate) fn new(
        _env: sys::napi_env,
        _settle: sys::napi_value,
        _settings: Arc<ClientSettings>,
        _pool: Option<(usize, Duration)>,
    ) -> Option<Rc<LoopClient>> {
        None
    }

    pub(crate) fn send(
        self: &Rc<Self>,
        _id: u32,
        _prepared: Prepared,
        _ack_timeout: Duration,
    ) -> Result<usize, Failure> {
        match **self {}
    }

    pub(crate) fn close(&self) {
        match *self {}
    }

    pub(crate) fn idle_count(&self) -> usize {
        match *self {}
    }

    pub(crate) fn abort(&self, _key: usize) {
        match *self {}
    }

    pub(crate) fn stream(
        self: &Rc<Self>,
        _prepared: Result<Prepared, MllpError>,
        _ack_timeout: Duration,
    ) -> LoopStream {
        LoopStream {
            client: self.clone(),
        }
    }
}

/// Never made here (no `LoopClient` to make one). A struct rather than an empty enum: the
/// caller's `match` arm that builds one must not count as unreachable code.
pub(crate) struct LoopStream {
    client: Rc<LoopClient>,
}

impl LoopStream {
    pub(crate) fn next(&self) -> napi::Result<sys::napi_value> {
        match *self.client {}
    }

    pub(crate) fn close(&self) {
        match *self.client {}
    }
}

/// Test hook, as on Linux: no stream runs on an event loop here.
#[napi_derive::napi(js_name = "__eventLoopStreamsForTests")]
pub fn event_loop_streams_for_tests() -> u32 {
    0
}

/// Test hook, as on Linux: there is no event-loop path to panic in here.
#[napi_derive::napi(js_name = "__panicOnEventLoopForTests")]
pub fn panic_on_event_loop_for_tests() -> bool {
    false
}
