//! `NativeClient`, `NativeAckStream`, `CancelHandle`: the JS-facing shapes of `client.rs`.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::loop_client::{LoopClient, LoopStream};
use super::settle::{Settlement, Settler};
use super::{invalid, to_js_error, CatchPanic};
use crate::ack::{Ack, AckErrorDetail};
use crate::client::{self, CancelToken, ClientSettings, Exchange};
use crate::error::{Failure, MllpError};
use crate::message::{prepare_bytes, prepare_utf8_frame, utf8_frame_buffer, Encoding, Prepared};
use crate::pool::Pool;
use crate::tls::{client_settings, TlsOptions};

/// TLS material, already checked for shape by `lib/options.cjs`.
#[napi(object)]
pub struct NativeTlsOptions {
    pub ca: Option<Vec<Buffer>>,
    pub cert: Option<Buffer>,
    pub key: Option<Buffer>,
    pub passphrase: Option<String>,
    pub servername: Option<String>,
    pub insecure: Option<bool>,
}

/// `pool: { max, idleTimeout }` (opt-in).
#[napi(object)]
pub struct NativePoolOptions {
    pub max: u32,
    pub idle_timeout: u32,
}

/// Client options with every default filled in by `lib/options.cjs`.
#[napi(object)]
pub struct NativeClientOptions {
    pub host: String,
    pub port: u32,
    /// Absent: plain TCP.
    pub tls: Option<NativeTlsOptions>,
    pub connect_timeout: u32,
    pub ack_timeout: u32,
    pub encoding: String,
    pub max_frame_bytes: u32,
    pub verify_control_id: bool,
    pub pool: Option<NativePoolOptions>,
    /// Run plain-TCP sends to an IP address on the JS thread's libuv loop (Node only).
    pub event_loop: Option<bool>,
}

#[napi(object)]
pub struct NativeAckError {
    pub error_code: Option<String>,
    pub error_text: Option<String>,
    pub severity: Option<String>,
    pub location: Option<String>,
}

#[napi(object)]
pub struct NativeAck {
    pub code: String,
    pub control_id: String,
    pub message: Option<String>,
    pub error_code: Option<String>,
    pub severity: Option<String>,
    pub errors: Vec<NativeAckError>,
    pub raw: String,
}

impl From<AckErrorDetail> for NativeAckError {
    fn from(e: AckErrorDetail) -> Self {
        NativeAckError {
            error_code: e.error_code,
            error_text: e.error_text,
            severity: e.severity,
            location: e.location,
        }
    }
}

impl From<Ack> for NativeAck {
    fn from(ack: Ack) -> Self {
        NativeAck {
            code: ack.code.as_str().to_string(),
            control_id: ack.control_id,
            message: ack.message,
            error_code: ack.error_code,
            severity: ack.severity,
            errors: ack.errors.into_iter().map(Into::into).collect(),
            raw: ack.raw,
        }
    }
}

fn pem(buffer: &Buffer) -> Vec<u8> {
    buffer.to_vec()
}

fn millis(ms: u32) -> Duration {
    Duration::from_millis(u64::from(ms))
}

/// Aborts one `send()` (AbortSignal); created only when the caller passes a signal.
#[napi]
#[derive(Default)]
pub struct CancelHandle {
    token: CancelToken,
    /// The send it stops when that send runs on the event loop: its client and key.
    loop_send: std::cell::RefCell<Option<(Rc<LoopClient>, usize)>>,
}

#[napi]
impl CancelHandle {
    #[napi(constructor)]
    pub fn new() -> Self {
        CancelHandle::default()
    }

    #[napi]
    pub fn cancel(&self) {
        self.token.cancel();
        let loop_send = self.loop_send.borrow_mut().take();
        if let Some((client, key)) = loop_send {
            client.abort(key);
        }
    }
}

/// Where this client's sends run (README, "How a send runs").
enum SendPath {
    /// On the JS thread's libuv loop; it keeps its own pool.
    EventLoop(Rc<LoopClient>),
    /// On the tokio runtime, settled through `settler`.
    Tokio {
        pool: Option<Arc<Pool>>,
        settler: Settler,
    },
}

#[napi]
pub struct NativeClient {
    settings: Arc<ClientSettings>,
    path: SendPath,
}

#[napi]
impl NativeClient {
    /// Builds the TLS configuration once; bad TLS material throws `INVALID_INPUT` here.
    /// `settle(id, reason, ...ack fields)` receives the outcome of every `send()` on the JS
    /// thread (see `settle.rs`).
    #[napi(constructor)]
    pub fn new(
        env: Env,
        options: NativeClientOptions,
        #[napi(
            ts_arg_type = "(id: number, reason: string | null, code?: string, controlId?: string, message?: string, errorCode?: string, severity?: string, errors?: NativeAckError[] | null, raw?: string) => void"
        )]
        settle: Function<'_, Settlement, ()>,
    ) -> Result<Self> {
        let port = u16::try_from(options.port)
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| {
                invalid(MllpError::InvalidInput(
                    "port must be an integer from 1 to 65535".into(),
                ))
            })?;
        let encoding = Encoding::parse(&options.encoding).map_err(invalid)?;
        let tls = match &options.tls {
            None => None,
            Some(t) => {
                let opts = TlsOptions {
                    ca: t.ca.as_ref().map(|list| list.iter().map(pem).collect()),
                    cert: t.cert.as_ref().map(pem),
                    key: t.key.as_ref().map(pem),
                    passphrase: t.passphrase.clone(),
                    servername: t.servername.clone(),
                    insecure: t.insecure.unwrap_or(false),
                };
                Some(client_settings(&opts, &options.host).map_err(invalid)?)
            }
        };
        let settings = Arc::new(ClientSettings {
            host: options.host,
            port,
            tls,
            connect_timeout: millis(options.connect_timeout),
            ack_timeout: millis(options.ack_timeout),
            encoding,
            max_frame_bytes: options.max_frame_bytes as usize,
            verify_control_id: options.verify_control_id,
        });
        let pool_options = options
            .pool
            .as_ref()
            .map(|p| (p.max.max(1) as usize, millis(p.idle_timeout)));
        let on_loop = match options.event_loop {
            Some(true) => LoopClient::new(env.raw(), settle.raw(), settings.clone(), pool_options),
            _ => None,
        };
        let path = match on_loop {
            Some(on_loop) => SendPath::EventLoop(on_loop),
            None => {
                let pool = pool_options.map(|(max, idle_timeout)| {
                    let pool = Pool::new(settings.clone(), max, idle_timeout);
                    napi::bindgen_prelude::spawn(pool.reaper());
                    pool
                });
                SendPath::Tokio {
                    pool,
                    settler: Settler::new(&settle)?,
                }
            }
        };
        Ok(NativeClient { settings, path })
    }

    /// Close pooled connections; later sends are refused. Without a pool: nothing to do.
    #[napi]
    pub fn close(&self) {
        match &self.path {
            SendPath::EventLoop(on_loop) => on_loop.close(),
            SendPath::Tokio {
                pool: Some(pool), ..
            } => pool.close(),
            SendPath::Tokio { pool: None, .. } => {}
        }
    }

    /// Idle pooled connections (for tests and monitoring).
    #[napi(getter)]
    pub fn idle_connections(&self) -> u32 {
        match &self.path {
            SendPath::EventLoop(on_loop) => on_loop.idle_count() as u32,
            SendPath::Tokio { pool, .. } => pool.as_ref().map_or(0, |p| p.idle_count() as u32),
        }
    }

    /// One exchange, settled later through the client's settle callback (any ACK code; the
    /// JS layer throws NAKs).
    /// A bad message throws `INVALID_INPUT` here, before anything is spawned.
    #[napi]
    pub fn send(
        &self,
        env: &Env,
        id: u32,
        #[napi(ts_arg_type = "string | Buffer")] message: Unknown<'_>,
        ack_timeout: Option<u32>,
        cancel: Option<&CancelHandle>,
    ) -> Result<()> {
        let prepared = self.prepare(message).map_err(invalid)?;
        let settings = self.settings.clone();
        let ack_timeout = ack_timeout.map(millis).unwrap_or(settings.ack_timeout);
        let (pool, settler) = match &self.path {
            SendPath::EventLoop(on_loop) => {
                let key = on_loop
                    .send(id, prepared, ack_timeout)
                    .map_err(to_js_error)?;
                if let Some(cancel) = cancel {
                    *cancel.loop_send.borrow_mut() = Some((on_loop.clone(), key));
                }
                return Ok(());
            }
            SendPath::Tokio { pool, settler } => (pool.clone(), settler.begin(env)),
        };
        let token = cancel.map(|c| c.token.clone()).unwrap_or_default();
        napi::bindgen_prelude::spawn(async move {
            let outcome = CatchPanic(async {
                let exchange = async {
                    match &pool {
                        Some(pool) => pool.send(prepared, ack_timeout).await,
                        None => client::send(&settings, prepared, ack_timeout).await,
                    }
                };
                token.run(exchange).await.map_err(to_js_error)
            })
            .await;
            settler.settle(id, outcome);
        });
        Ok(())
    }

    /// An iterator over the ACK frames of one exchange, on the same I/O path as `send()`. A
    /// bad message is kept and reported by the first `next()`, as the API contract says.
    #[napi]
    pub fn stream(
        &self,
        #[napi(ts_arg_type = "string | Buffer")] message: Unknown<'_>,
        ack_timeout: Option<u32>,
    ) -> NativeAckStream {
        let settings = self.settings.clone();
        let ack_timeout = ack_timeout.map(millis).unwrap_or(settings.ack_timeout);
        let prepared = self.prepare(message);
        let path = match &self.path {
            SendPath::EventLoop(on_loop) => {
                StreamPath::EventLoop(on_loop.stream(prepared, ack_timeout))
            }
            SendPath::Tokio { .. } => StreamPath::Tokio {
                state: Arc::new(tokio::sync::Mutex::new(StreamState::NotStarted(prepared))),
                cancel: CancelToken::default(),
                settings,
                ack_timeout,
            },
        };
        NativeAckStream { path }
    }
}

impl NativeClient {
    /// The message's bytes, owned by Rust before this call returns (contract: "Message bytes
    /// belong to the call"): a Buffer's bytes are copied here, so whatever the caller does
    /// with its memory next (rewrite it, transfer it) cannot reach the wire or crash a send.
    /// A string is written once, as UTF-8, straight into its frame buffer (`utf8_frame`).
    fn prepare(&self, message: Unknown<'_>) -> std::result::Result<Prepared, MllpError> {
        let not_a_message =
            |_| MllpError::InvalidInput("message must be a string or a Buffer".into());
        if message.get_type().map_err(not_a_message)? == ValueType::String {
            let frame = utf8_frame(&message).map_err(not_a_message)?;
            return prepare_utf8_frame(frame, self.settings.encoding);
        }
        // SAFETY: `BufferSlice::from_napi_value` is `napi_get_buffer_info`, which answers a
        // value that is not a Buffer with an error status (then `not_a_message`); the slice
        // lives only during this call, while the JS value is held by the caller.
        let bytes = unsafe { message.cast::<BufferSlice>() }.map_err(not_a_message)?;
        prepare_bytes(&bytes, self.settings.encoding)
    }
}

/// A JS string as a frame buffer holding its UTF-8 after the start byte, written by one
/// `napi_get_value_string_utf8` call into a buffer sized for the worst case. napi-rs's
/// `String` makes two passes (the UTF-8 length, then the copy) into a buffer the message
/// is then copied out of again; for an 8 MiB string those passes and copies cost more
/// than the write itself (`large-8mib`). Lone surrogates become U+FFFD, as they do in
/// napi-rs's `String` and in `Buffer.from(text, "utf8")`.
fn utf8_frame(text: &Unknown<'_>) -> Result<Vec<u8>> {
    let (env, value) = (text.value().env, text.raw());
    let mut units = 0usize;
    // SAFETY: `env` and `value` are this call's live env and string argument; a null buffer
    // asks only for the length in UTF-16 code units (V8 reads it without touching the text).
    let status = unsafe {
        napi::sys::napi_get_value_string_utf16(env, value, std::ptr::null_mut(), 0, &mut units)
    };
    check(status)?;
    // A UTF-16 code unit is at most 3 bytes of UTF-8 (a surrogate pair is 4 for 2 units; a
    // lone surrogate, U+FFFD, is 3); napi also writes a terminating NUL.
    let room = units
        .checked_mul(3)
        .and_then(|n| n.checked_add(1))
        .ok_or_else(|| Error::from_reason("message too long"))?;
    let mut frame = utf8_frame_buffer(room);
    let mut written = 0usize;
    let spare = frame.spare_capacity_mut();
    debug_assert!(spare.len() >= room);
    // SAFETY: `spare` is at least `room` bytes of `frame`'s allocation after its length;
    // napi writes at most `room - 1` bytes there and a NUL after them, and reports how many
    // it wrote (without the NUL).
    let status = unsafe {
        napi::sys::napi_get_value_string_utf8(
            env,
            value,
            spare.as_mut_ptr().cast(),
            room,
            &mut written,
        )
    };
    check(status)?;
    if written >= room {
        return Err(Error::from_reason("string conversion overran its buffer"));
    }
    // SAFETY: napi initialized the `written` bytes after the start byte, within capacity.
    unsafe { frame.set_len(1 + written) };
    Ok(frame)
}

fn check(status: napi::sys::napi_status) -> Result<()> {
    match status {
        napi::sys::Status::napi_ok => Ok(()),
        _ => Err(Error::from_reason(format!("napi status {status}"))),
    }
}

enum StreamState {
    NotStarted(std::result::Result<Prepared, MllpError>),
    Open(Box<Exchange>),
    Done,
}

/// Where a stream runs: where its client's sends run.
enum StreamPath {
    EventLoop(LoopStream),
    Tokio {
        state: Arc<tokio::sync::Mutex<StreamState>>,
        cancel: CancelToken,
        settings: Arc<ClientSettings>,
        ack_timeout: Duration,
    },
}

#[napi]
pub struct NativeAckStream {
    path: StreamPath,
}

#[napi]
impl NativeAckStream {
    /// The next ACK frame, or `null` after the final one. Overlapping calls are served in
    /// order, one frame each.
    #[napi(ts_return_type = "Promise<NativeAck | null>")]
    pub fn next<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Option<NativeAck>>> {
        let (state, cancel, settings, ack_timeout) = match &self.path {
            StreamPath::EventLoop(on_loop) => {
                return on_loop
                    .next()
                    .map(|promise| PromiseRaw::new(env.raw(), promise));
            }
            StreamPath::Tokio {
                state,
                cancel,
                settings,
                ack_timeout,
            } => (
                state.clone(),
                cancel.clone(),
                settings.clone(),
                *ack_timeout,
            ),
        };
        env.spawn_future(CatchPanic(async move {
            let mut state = state.lock().await;
            let result = cancel.run(step(&mut state, &settings, ack_timeout)).await;
            if !matches!(result, Ok(Some(_))) {
                // The final ACK, an error or a cancel: drop the connection now.
                if let StreamState::Open(exchange) =
                    std::mem::replace(&mut *state, StreamState::Done)
                {
                    exchange.close();
                }
            }
            result
                .map(|ack| ack.map(NativeAck::from))
                .map_err(to_js_error)
        }))
    }

    /// Close the connection at once (loop left early, AbortSignal, garbage collection).
    #[napi]
    pub fn close(&self) {
        match &self.path {
            StreamPath::EventLoop(on_loop) => on_loop.close(),
            StreamPath::Tokio { state, cancel, .. } => {
                cancel.cancel();
                if let Ok(mut state) = state.try_lock() {
                    *state = StreamState::Done;
                }
            }
        }
    }
}

impl Drop for NativeAckStream {
    /// Garbage collected: the connection is closed (on the event loop by `LoopStream`'s drop).
    fn drop(&mut self) {
        if let StreamPath::Tokio { cancel, .. } = &self.path {
            cancel.cancel();
        }
    }
}

async fn step(
    state: &mut StreamState,
    settings: &Arc<ClientSettings>,
    ack_timeout: Duration,
) -> std::result::Result<Option<Ack>, Failure> {
    if let StreamState::NotStarted(prepared) = state {
        let prepared = std::mem::replace(prepared, Err(MllpError::Aborted))?;
        *state = StreamState::Open(Box::new(client::open(settings, prepared, ack_timeout)));
    }
    match state {
        StreamState::Open(exchange) => {
            let ack = exchange.next_ack().await;
            if !matches!(&ack, Ok(Some(a)) if a.code.is_intermediate()) {
                if let StreamState::Open(exchange) = std::mem::replace(state, StreamState::Done) {
                    exchange.close();
                }
            }
            ack
        }
        _ => Ok(None),
    }
}
