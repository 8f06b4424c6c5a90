//! Durable stores behind the Outbox (`lib/outbox.cjs`). SQLite is embedded here; the
//! PostgreSQL store is pure JS over npm `pg` (`lib/outbox-postgres.cjs`).

pub mod sqlite;
