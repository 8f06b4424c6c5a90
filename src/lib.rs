//! Glion MLLP client: a Rust core (no napi) and the napi binding layer (`binding`, behind
//! the default `node` feature).

pub mod ack;
pub mod charset;
pub mod client;
pub mod engine;
pub mod error;
pub mod frame;
pub mod message;
pub mod pool;
pub mod receiver;
#[cfg(feature = "node")]
pub mod store;
pub mod tls;
pub mod transport;

#[cfg(feature = "node")]
mod binding;
