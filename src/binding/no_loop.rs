//! Where the event-loop path does not exist (it uses epoll, so Linux only, and the
//! `event-loop` feature): the same names, and every send runs on the tokio runtime.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use napi::sys;

use crate::client::ClientSettings;
use crate::error::Failure;
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
}

pub(crate) fn abort(_key: usize) {}

/// Test hook, as on Linux: there is no event-loop path to panic in here.
#[napi_derive::napi(js_name = "__panicOnEventLoopForTests")]
pub fn panic_on_event_loop_for_tests() -> bool {
    false
}
