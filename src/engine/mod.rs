//! The send engine without I/O: what one exchange does next and how it ends
//! (`exchange.rs`), and which connection a pooled send gets (`pool.rs`). No napi, sockets or
//! timers: the drivers (`client.rs` + `pool.rs` on tokio, `binding/loop_client.rs` on Node's
//! event loop) connect, read, write and wait, and feed what happened in as events. The send
//! rules (docs/ARCHITECTURE.md "The send engine") exist here once.

pub mod exchange;
pub mod pool;

pub use exchange::{ack_from_frame, timeout_text, ClientSettings, Exchange, Want};
pub use pool::{Acquire, PoolState};
