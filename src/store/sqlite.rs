//! The Outbox's embedded SQLite store: one writer thread owns the connection and commits
//! everything that is waiting in one transaction (group commit), so many concurrent
//! enqueues share one sync. The SQL itself (schema, queries) lives with the delivery logic
//! in `lib/outbox-sqlite.cjs`; this module runs it.
//!
//! Each submitted command is a list of statements that succeed or fail together (a
//! savepoint inside the batch's transaction): one failing command does not undo the others
//! of its batch. A command's reply is sent only after the batch's COMMIT returned, so a
//! write is reported only once it is as durable as `synchronous` makes it.
//!
//! With `synchronous=NORMAL`, checkpoints (copying the WAL into the database file, with a
//! sync of each) run on a thread of their own with its own connection, not in the commit
//! that crosses SQLite's threshold: that commit may be the delivery loop's on the JS
//! thread, where checkpoints cost 20-30 us per delivered message; on their own thread they
//! cost it about half that on a loaded 2-core machine (the delivered mark timed alone on
//! bench/outbox.js's schema).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, OpenFlags};

/// How durable a commit is (SQLite's `PRAGMA synchronous`, in WAL mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Synchronous {
    /// The WAL is written on commit and synced at checkpoints: survives a killed process,
    /// not a power loss (the last commits may be lost then, the file stays consistent).
    Normal,
    /// The WAL is synced on every commit: also survives a power loss or an OS crash.
    Full,
}

impl Synchronous {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "normal" | "NORMAL" => Some(Synchronous::Normal),
            "full" | "FULL" => Some(Synchronous::Full),
            _ => None,
        }
    }

    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        }
    }
}

/// One SQL statement and its positional parameters (`?1`, `?2`, ...).
pub struct Statement {
    pub sql: String,
    pub params: Vec<Value>,
}

/// What one statement returned: its rows (empty for a write), and for a write the rows it
/// changed and the last inserted rowid.
#[derive(Debug, Default)]
pub struct StatementResult {
    pub rows: Vec<Vec<Value>>,
    pub changes: u64,
    pub last_insert_rowid: i64,
}

pub type Reply = Box<dyn FnOnce(Result<Vec<StatementResult>, String>) + Send>;

struct Command {
    statements: Vec<Statement>,
    reply: Reply,
}

/// Commands taken into one transaction at most: bounds the latency of the first one.
const MAX_BATCH: usize = 4096;
/// How long a write waits for another process's lock (the `mllp outbox` CLI, a second
/// opener) before it fails with SQLITE_BUSY.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Commands committed between two background checkpoints (a command writes a few pages;
/// SQLite's own default is a checkpoint per 1000 pages).
const CHECKPOINT_EVERY: u64 = 256;
/// SQLite still checkpoints in a commit once the WAL is this long (pages, 16 MB). Needed:
/// the checkpointer's PASSIVE checkpoint rarely finds the WAL complete while the delivery
/// loop commits, so the WAL would not restart from its beginning and would grow; this one,
/// in the committing connection, completes (mostly already copied: cheap) and restarts it.
const AUTOCHECKPOINT_PAGES: u32 = 4_000;

/// The checkpoint thread and what wakes it.
struct Checkpointer {
    wake: Mutex<Option<mpsc::SyncSender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Commands committed since the last wake-up.
    since: AtomicU64,
}

impl Checkpointer {
    fn start(path: &str, synchronous: Synchronous) -> Result<Checkpointer, String> {
        let connection = open_connection(path, synchronous)?;
        let (wake, woken) = mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("glion-outbox-checkpoint".into())
            .spawn(move || {
                while woken.recv().is_ok() {
                    // PASSIVE: copies what no reader still needs, never waits for a lock;
                    // what it leaves is copied by the next one. A failure changes nothing
                    // stored (the WAL keeps every commit).
                    let _ = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })
            .map_err(|e| format!("cannot start the SQLite checkpoint thread: {e}"))?;
        Ok(Checkpointer {
            wake: Mutex::new(Some(wake)),
            thread: Mutex::new(Some(thread)),
            since: AtomicU64::new(0),
        })
    }

    /// Count `commands` committed; wake the thread every CHECKPOINT_EVERY of them.
    fn committed(&self, commands: u64) {
        if self.since.fetch_add(commands, Ordering::Relaxed) + commands < CHECKPOINT_EVERY {
            return;
        }
        self.since.store(0, Ordering::Relaxed);
        if let Some(wake) = self.wake.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            // Full: a wake-up is already pending, which is enough.
            let _ = wake.try_send(());
        }
    }

    /// End the thread (its connection closes before the writer's, which is then the last
    /// and checkpoints the rest).
    fn stop(&self, join: bool) {
        self.wake.lock().unwrap_or_else(|e| e.into_inner()).take();
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let (true, Some(thread)) = (join, thread) {
            let _ = thread.join();
        }
    }
}

pub struct SqliteStore {
    sender: Mutex<Option<mpsc::Sender<Command>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// With `synchronous=NORMAL` only: with FULL every commit syncs anyway, and SQLite's
    /// own checkpoint in the commit measured faster than a second thread (bench/outbox.js).
    checkpointer: Option<Arc<Checkpointer>>,
    /// Shared with the writer thread, which holds it while it runs a batch.
    connection: Arc<Mutex<Option<Connection>>>,
    synchronous: Synchronous,
}

impl SqliteStore {
    /// Open (creating it if needed) the database at `path` in WAL mode and start its writer
    /// thread. Blocks until the file is open, or fails with SQLite's message.
    pub fn open(path: &str, synchronous: Synchronous) -> Result<SqliteStore, String> {
        let background = synchronous == Synchronous::Normal;
        let connection = open_connection(path, synchronous)
            .and_then(|c| {
                if background {
                    c.pragma_update(None, "wal_autocheckpoint", AUTOCHECKPOINT_PAGES)
                        .map_err(|e| e.to_string())?;
                }
                Ok(c)
            })
            .map_err(|e| format!("cannot open SQLite store {path}: {e}"))?;
        let checkpointer = match background {
            true => Some(Arc::new(
                Checkpointer::start(path, synchronous)
                    .map_err(|e| format!("cannot open SQLite store {path}: {e}"))?,
            )),
            false => None,
        };
        let connection = Arc::new(Mutex::new(Some(connection)));
        let (sender, receiver) = mpsc::channel::<Command>();
        let shared = connection.clone();
        let writer_checkpointer = checkpointer.clone();
        let thread = std::thread::Builder::new()
            .name("glion-outbox-sqlite".into())
            .spawn(move || writer(shared, receiver, writer_checkpointer.as_deref()))
            .map_err(|e| format!("cannot start the SQLite writer thread: {e}"))?;
        Ok(SqliteStore {
            sender: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
            checkpointer,
            connection,
            synchronous,
        })
    }

    /// Run one command on the calling thread when that is cheap: with `synchronous=NORMAL`
    /// (a commit is a write to the WAL, no sync) and the writer thread idle. None: use
    /// `submit`. The delivery loop's one-at-a-time commands take this path: a round trip
    /// through the writer thread costs more than the commit itself (bench/outbox.js).
    pub fn try_run_here(&self, statements: &[Statement]) -> Option<Outcome> {
        if self.synchronous != Synchronous::Normal {
            return None;
        }
        let mut guard = self.connection.try_lock().ok()?;
        let connection = guard.as_mut()?;
        let outcome = run_one(connection, statements);
        drop(guard);
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.committed(1);
        }
        Some(outcome)
    }

    /// Queue a command for the writer thread; `reply` is called on that thread.
    pub fn submit(&self, statements: Vec<Statement>, reply: Reply) {
        let sender = self.sender.lock().unwrap_or_else(|e| e.into_inner());
        match sender.as_ref() {
            Some(s) => {
                if let Err(mpsc::SendError(command)) = s.send(Command { statements, reply }) {
                    (command.reply)(Err("the SQLite store is closed".into()));
                }
            }
            None => reply(Err("the SQLite store is closed".into())),
        }
    }

    /// Stop accepting commands; the writer finishes what was queued, closes the connection
    /// (a WAL checkpoint) and ends. Waits for it: call off the JS thread.
    pub fn close(&self) {
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.stop(true);
        }
        self.sender.lock().unwrap_or_else(|e| e.into_inner()).take();
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Without close(): the thread still ends once the sender is gone; not joined here
        // (Drop may run on the JS thread during garbage collection).
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.stop(false);
        }
        self.sender.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

fn open_connection(path: &str, synchronous: Synchronous) -> Result<Connection, String> {
    let connection = open_wal(path, synchronous).map_err(|e| e.to_string())?;
    let mode: String = connection
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .map_err(|e| e.to_string())?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(format!("journal_mode is {mode}; the Outbox needs WAL"));
    }
    Ok(connection)
}

fn open_wal(path: &str, synchronous: Synchronous) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    // Returns the resulting mode as a row; checked by the caller.
    connection.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
    connection.pragma_update(None, "synchronous", synchronous.pragma())?;
    connection.set_prepared_statement_cache_capacity(64);
    Ok(connection)
}

fn writer(
    connection: Arc<Mutex<Option<Connection>>>,
    receiver: mpsc::Receiver<Command>,
    checkpointer: Option<&Checkpointer>,
) {
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(command) => batch.push(command),
                Err(_) => break,
            }
        }
        let mut guard = connection.lock().unwrap_or_else(|e| e.into_inner());
        let outcomes = match guard.as_mut() {
            Some(connection) => run_batch(connection, &batch),
            None => Err(rusqlite::Error::InvalidQuery),
        };
        drop(guard);
        if let Some(checkpointer) = checkpointer {
            checkpointer.committed(batch.len() as u64);
        }
        match outcomes {
            Ok(outcomes) => {
                for (command, outcome) in batch.into_iter().zip(outcomes) {
                    (command.reply)(outcome);
                }
            }
            Err(error) => {
                let text = format!("SQLite transaction failed: {error}");
                for command in batch {
                    (command.reply)(Err(text.clone()));
                }
            }
        }
    }
    // Dropping the connection checkpoints the WAL when it is the last one.
    connection.lock().unwrap_or_else(|e| e.into_inner()).take();
}

type Outcome = Result<Vec<StatementResult>, String>;

/// One transaction for the whole batch, a savepoint per command. Err: the transaction
/// itself failed (BEGIN or COMMIT), so no command of the batch took effect.
fn run_batch(connection: &mut Connection, batch: &[Command]) -> rusqlite::Result<Vec<Outcome>> {
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::with_capacity(batch.len());
    if let [command] = batch {
        drop(transaction);
        return Ok(vec![run_one(connection, &command.statements)]);
    }
    for command in batch {
        transaction.execute_batch("SAVEPOINT command")?;
        match run_command(&transaction, &command.statements) {
            Ok(results) => {
                transaction.execute_batch("RELEASE command")?;
                outcomes.push(Ok(results));
            }
            Err(error) => {
                transaction.execute_batch("ROLLBACK TO command; RELEASE command")?;
                outcomes.push(Err(error.to_string()));
            }
        }
    }
    transaction.commit()?;
    Ok(outcomes)
}

/// One command alone in its transaction (no savepoint needed).
fn run_one(connection: &mut Connection, statements: &[Statement]) -> Outcome {
    let transaction = connection
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(|e| e.to_string())?;
    let results = run_command(&transaction, statements).map_err(|e| e.to_string())?;
    transaction
        .commit()
        .map_err(|e| format!("SQLite transaction failed: {e}"))?;
    Ok(results)
}

fn run_command(
    connection: &Connection,
    statements: &[Statement],
) -> rusqlite::Result<Vec<StatementResult>> {
    let mut results = Vec::with_capacity(statements.len());
    for statement in statements {
        let mut prepared = connection.prepare_cached(&statement.sql)?;
        let columns = prepared.column_count();
        let mut result = StatementResult::default();
        if columns == 0 {
            result.changes = prepared.execute(params_from_iter(statement.params.iter()))? as u64;
            result.last_insert_rowid = connection.last_insert_rowid();
        } else {
            let mut rows = prepared.query(params_from_iter(statement.params.iter()))?;
            while let Some(row) = rows.next()? {
                let mut values = Vec::with_capacity(columns);
                for i in 0..columns {
                    values.push(row.get::<_, Value>(i)?);
                }
                result.rows.push(values);
            }
        }
        results.push(result);
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(store: &SqliteStore, statements: Vec<Statement>) -> Outcome {
        let (tx, rx) = mpsc::channel();
        store.submit(statements, Box::new(move |r| tx.send(r).unwrap()));
        rx.recv_timeout(Duration::from_secs(10)).unwrap()
    }

    fn stmt(sql: &str, params: Vec<Value>) -> Statement {
        Statement {
            sql: sql.into(),
            params,
        }
    }

    #[test]
    fn commands_commit_and_a_failing_one_rolls_back_alone() {
        let dir = std::env::temp_dir().join(format!("glion-sqlite-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.db");
        let _ = std::fs::remove_file(&path);
        let store = SqliteStore::open(path.to_str().unwrap(), Synchronous::Normal).unwrap();
        exec(
            &store,
            vec![stmt(
                "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)",
                vec![],
            )],
        )
        .unwrap();
        let ok = exec(
            &store,
            vec![stmt(
                "INSERT INTO t (v) VALUES (?1)",
                vec![Value::Blob(vec![1, 2])],
            )],
        )
        .unwrap();
        assert_eq!(ok[0].changes, 1);
        assert_eq!(ok[0].last_insert_rowid, 1);
        // The second statement fails (NOT NULL): the first of the same command is undone.
        let bad = exec(
            &store,
            vec![
                stmt("INSERT INTO t (v) VALUES (x'03')", vec![]),
                stmt("INSERT INTO t (v) VALUES (NULL)", vec![]),
            ],
        );
        assert!(bad.is_err());
        let rows = exec(&store, vec![stmt("SELECT id, v FROM t", vec![])]).unwrap();
        assert_eq!(
            rows[0].rows,
            vec![vec![Value::Integer(1), Value::Blob(vec![1, 2])]]
        );
        store.close();
        let after = exec(&store, vec![stmt("SELECT 1", vec![])]);
        assert!(after.is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
