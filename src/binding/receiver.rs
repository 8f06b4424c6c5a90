//! `NativeReceiver`: the test receiver's transport, driven from `testing.js`.

use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

use super::invalid;
use crate::receiver::{Event, Receiver, ReceiverConfig};
use crate::tls::server_config;

#[napi(object)]
pub struct NativeReceiverTls {
    pub cert: Buffer,
    pub key: Buffer,
    pub ca: Option<Buffer>,
    pub request_cert: Option<bool>,
}

#[napi(object)]
pub struct NativeReceiverOptions {
    pub host: String,
    pub port: u32,
    pub tls: Option<NativeReceiverTls>,
    pub max_frame_bytes: u32,
}

/// One thing that happened on a connection, delivered to the JS callback.
#[napi(object)]
pub struct NativeReceiverEvent {
    /// "message" or "close".
    pub kind: String,
    pub connection: u32,
    pub peer: Option<String>,
    pub message: Option<Buffer>,
    pub error: Option<String>,
}

type EventCallback =
    ThreadsafeFunction<NativeReceiverEvent, (), NativeReceiverEvent, Status, false>;

#[napi]
pub struct NativeReceiver {
    inner: Receiver,
}

#[napi]
impl NativeReceiver {
    /// Bind and listen; resolves once the port is open.
    #[napi(ts_return_type = "Promise<NativeReceiver>")]
    pub fn start<'env>(
        env: &'env Env,
        options: NativeReceiverOptions,
        on_event: Function<NativeReceiverEvent, ()>,
    ) -> Result<PromiseRaw<'env, NativeReceiver>> {
        let tls = match &options.tls {
            Some(t) => Some(
                server_config(
                    &t.cert,
                    &t.key,
                    t.ca.as_deref(),
                    t.request_cert.unwrap_or(false),
                )
                .map_err(invalid)?,
            ),
            None => None,
        };
        let callback: EventCallback = on_event
            .build_threadsafe_function()
            .callee_handled::<false>()
            .build()?;
        let callback = Arc::new(callback);
        let on_event = Arc::new(move |event: Event| {
            let event = match event {
                Event::Message { conn, peer, bytes } => NativeReceiverEvent {
                    kind: "message".into(),
                    connection: conn as u32,
                    peer: Some(peer.to_string()),
                    message: Some(bytes.into()),
                    error: None,
                },
                Event::Closed { conn, error } => NativeReceiverEvent {
                    kind: "close".into(),
                    connection: conn as u32,
                    peer: None,
                    message: None,
                    error,
                },
            };
            callback.call(event, ThreadsafeFunctionCallMode::NonBlocking);
        });
        let config = ReceiverConfig {
            host: options.host,
            port: u16::try_from(options.port).unwrap_or(0),
            tls,
            max_frame_bytes: options.max_frame_bytes as usize,
        };
        env.spawn_future(async move {
            let inner = Receiver::start(config, on_event).await.map_err(invalid)?;
            Ok(NativeReceiver { inner })
        })
    }

    #[napi(getter)]
    pub fn port(&self) -> u32 {
        u32::from(self.inner.local_addr.port())
    }

    #[napi(getter)]
    pub fn host(&self) -> String {
        self.inner.local_addr.ip().to_string()
    }

    /// Send `message` (unframed) as one MLLP frame on `connection`.
    #[napi]
    pub fn write(&self, connection: u32, message: BufferSlice) -> bool {
        self.inner.write(u64::from(connection), &message)
    }

    /// Send raw bytes as they are (fault plays in tests).
    #[napi]
    pub fn write_raw(&self, connection: u32, bytes: BufferSlice) -> bool {
        self.inner.write_raw(u64::from(connection), bytes.to_vec())
    }

    #[napi]
    pub fn close_connection(&self, connection: u32) -> bool {
        self.inner.close_connection(u64::from(connection))
    }

    #[napi]
    pub fn close(&self) {
        self.inner.close();
    }
}
