//! `NativeSqliteStore`: the JS face of `store::sqlite` (conversion only). Used by
//! `lib/outbox-sqlite.cjs`.

use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use rusqlite::types::Value;
use tokio::sync::oneshot;

use crate::store::sqlite::{SqliteStore, Statement, StatementResult, Synchronous};

/// A parameter or column value: null, a number (an integral one binds as INTEGER), text or
/// bytes (BLOB).
type NativeSqlValue = Option<Either3<f64, String, Buffer>>;

#[napi(object)]
pub struct NativeSqlStatement {
    pub sql: String,
    pub params: Vec<NativeSqlValue>,
}

#[napi(object)]
pub struct NativeSqlResult {
    pub rows: Vec<Vec<NativeSqlValue>>,
    pub changes: f64,
    pub last_insert_rowid: f64,
}

#[napi]
pub struct NativeSqliteStore {
    store: Arc<SqliteStore>,
}

/// Largest integer a JS number holds exactly.
const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

fn to_value(value: NativeSqlValue) -> Value {
    match value {
        None => Value::Null,
        Some(Either3::A(n)) if n.fract() == 0.0 && n.abs() <= MAX_SAFE => Value::Integer(n as i64),
        Some(Either3::A(n)) => Value::Real(n),
        Some(Either3::B(text)) => Value::Text(text),
        Some(Either3::C(bytes)) => Value::Blob(bytes.to_vec()),
    }
}

fn to_native(value: Value) -> NativeSqlValue {
    match value {
        Value::Null => None,
        Value::Integer(i) => Some(Either3::A(i as f64)),
        Value::Real(r) => Some(Either3::A(r)),
        Value::Text(t) => Some(Either3::B(t)),
        Value::Blob(b) => Some(Either3::C(b.into())),
    }
}

fn to_result(result: StatementResult) -> NativeSqlResult {
    NativeSqlResult {
        rows: result.rows.into_iter().map(|row| row.into_iter().map(to_native).collect()).collect(),
        changes: result.changes as f64,
        last_insert_rowid: result.last_insert_rowid as f64,
    }
}

#[napi]
impl NativeSqliteStore {
    /// Open (or create) the database file in WAL mode with `synchronous` ("normal" or
    /// "full") and start its writer thread.
    #[napi(factory)]
    pub fn open(path: String, synchronous: String) -> Result<NativeSqliteStore> {
        let synchronous = Synchronous::parse(&synchronous).ok_or_else(|| {
            Error::from_reason(format!("synchronous must be \"normal\" or \"full\", got {synchronous:?}"))
        })?;
        let store = SqliteStore::open(&path, synchronous).map_err(Error::from_reason)?;
        Ok(NativeSqliteStore { store: Arc::new(store) })
    }

    /// Run `statements` as one unit (all or none) in the writer's next transaction; resolves
    /// with one result per statement after that transaction committed.
    #[napi(ts_return_type = "Promise<NativeSqlResult[]>")]
    pub fn exec<'env>(
        &self,
        env: &'env Env,
        statements: Vec<NativeSqlStatement>,
    ) -> Result<PromiseRaw<'env, Vec<NativeSqlResult>>> {
        let statements: Vec<Statement> = statements
            .into_iter()
            .map(|s| Statement { sql: s.sql, params: s.params.into_iter().map(to_value).collect() })
            .collect();
        let (sender, receiver) = oneshot::channel();
        self.store.submit(
            statements,
            Box::new(move |outcome| {
                let _ = sender.send(outcome);
            }),
        );
        env.spawn_future_with_callback(
            async move {
                match receiver.await {
                    Ok(Ok(results)) => Ok(results),
                    Ok(Err(message)) => Err(Error::from_reason(message)),
                    Err(_) => Err(Error::from_reason("the SQLite writer thread ended")),
                }
            },
            |_env, results| Ok(results.into_iter().map(to_result).collect::<Vec<_>>()),
        )
    }

    /// Finish what is queued, close the database, end the writer thread.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let store = self.store.clone();
        env.spawn_future(async move {
            tokio::task::spawn_blocking(move || store.close())
                .await
                .map_err(|e| Error::from_reason(format!("closing the SQLite store failed: {e}")))
        })
    }
}
