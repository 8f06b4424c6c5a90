//! `NativeSqliteStore`: the JS face of `store::sqlite` (conversion only). Used by
//! `lib/outbox-sqlite.cjs`.

use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use rusqlite::types::Value;

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

/// One finished `exec`, delivered to the store's callback: `error` or `results`.
#[napi(object)]
pub struct NativeSqlDone {
    pub id: u32,
    pub error: Option<String>,
    pub results: Option<Vec<NativeSqlResult>>,
}

/// Weak: an open store does not keep the process alive by itself; `lib/outbox-sqlite.cjs`
/// holds the event loop while a command is pending.
type DoneCallback = ThreadsafeFunction<NativeSqlDone, (), NativeSqlDone, Status, false, true>;

/// Why one callback for every command (not a Promise per command): the writer thread calls
/// it directly, one hop back to the JS thread, where a Promise resolved from a future costs
/// a hop through the tokio runtime and a threadsafe function per call (bench/outbox.js).
#[napi]
pub struct NativeSqliteStore {
    store: Arc<SqliteStore>,
    on_done: Arc<DoneCallback>,
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

fn to_statements(statements: Vec<NativeSqlStatement>) -> Vec<Statement> {
    statements
        .into_iter()
        .map(|s| Statement {
            sql: s.sql,
            params: s.params.into_iter().map(to_value).collect(),
        })
        .collect()
}

fn to_result(result: StatementResult) -> NativeSqlResult {
    NativeSqlResult {
        rows: result
            .rows
            .into_iter()
            .map(|row| row.into_iter().map(to_native).collect())
            .collect(),
        changes: result.changes as f64,
        last_insert_rowid: result.last_insert_rowid as f64,
    }
}

#[napi]
impl NativeSqliteStore {
    /// Open (or create) the database file in WAL mode with `synchronous` ("normal" or
    /// "full") and start its writer thread. `onDone` receives every finished `exec`.
    #[napi(factory)]
    pub fn open(
        path: String,
        synchronous: String,
        on_done: Function<NativeSqlDone, ()>,
    ) -> Result<NativeSqliteStore> {
        let synchronous = Synchronous::parse(&synchronous).ok_or_else(|| {
            Error::from_reason(format!(
                "synchronous must be \"normal\" or \"full\", got {synchronous:?}"
            ))
        })?;
        let on_done: DoneCallback = on_done
            .build_threadsafe_function()
            .callee_handled::<false>()
            .weak::<true>()
            .build()?;
        let store = SqliteStore::open(&path, synchronous).map_err(Error::from_reason)?;
        Ok(NativeSqliteStore {
            store: Arc::new(store),
            on_done: Arc::new(on_done),
        })
    }

    /// Run `statements` as one transaction on this thread if that is cheap (see
    /// `SqliteStore::try_run_here`): their results, or null to use `exec`. Throws on an
    /// SQL error.
    #[napi]
    pub fn exec_here(
        &self,
        statements: Vec<NativeSqlStatement>,
    ) -> Result<Option<Vec<NativeSqlResult>>> {
        let statements = to_statements(statements);
        match self.store.try_run_here(&statements) {
            None => Ok(None),
            Some(Ok(results)) => Ok(Some(results.into_iter().map(to_result).collect())),
            Some(Err(message)) => Err(Error::from_reason(message)),
        }
    }

    /// Run `statements` as one unit (all or none) in the writer's next transaction; `onDone`
    /// gets `id` and one result per statement after that transaction committed.
    #[napi]
    pub fn exec(&self, id: u32, statements: Vec<NativeSqlStatement>) {
        let statements = to_statements(statements);
        let on_done = self.on_done.clone();
        self.store.submit(
            statements,
            Box::new(move |outcome| {
                let done = match outcome {
                    Ok(results) => NativeSqlDone {
                        id,
                        error: None,
                        results: Some(results.into_iter().map(to_result).collect()),
                    },
                    Err(message) => NativeSqlDone {
                        id,
                        error: Some(message),
                        results: None,
                    },
                };
                on_done.call(done, ThreadsafeFunctionCallMode::NonBlocking);
            }),
        );
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
