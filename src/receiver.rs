//! The test receiver's transport: an MLLP server on tokio using the same frame codec as the
//! client. It only moves frames; what to answer is decided by its owner (the JS layer builds
//! ACKs with `@glion/ack`'s `buildAck`), which writes replies back by connection id.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};

use crate::client::CancelToken;
use crate::error::MllpError;
use crate::frame::encode_frame;
use crate::transport::{Connection, Stream};

#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    pub host: String,
    pub port: u16,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub max_frame_bytes: usize,
}

/// What the owner hears about.
#[derive(Debug)]
pub enum Event {
    /// A whole frame's content from connection `conn`.
    Message {
        conn: u64,
        peer: SocketAddr,
        bytes: Vec<u8>,
    },
    /// The connection ended; `error` says why when it was not a clean close.
    Closed { conn: u64, error: Option<String> },
}

enum Command {
    Write(Vec<u8>),
    Close,
}

type Connections = Arc<Mutex<HashMap<u64, mpsc::UnboundedSender<Command>>>>;

pub struct Receiver {
    pub local_addr: SocketAddr,
    stop: CancelToken,
    connections: Connections,
}

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

impl Receiver {
    /// Bind and start accepting. `on_event` is called from the runtime's threads.
    pub async fn start(
        config: ReceiverConfig,
        on_event: Arc<dyn Fn(Event) + Send + Sync>,
    ) -> Result<Receiver, MllpError> {
        let listener = TcpListener::bind((config.host.as_str(), config.port))
            .await
            .map_err(|e| {
                MllpError::InvalidInput(format!(
                    "cannot listen on {}:{}: {e}",
                    config.host, config.port
                ))
            })?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| MllpError::InvalidInput(e.to_string()))?;
        let stop = CancelToken::default();
        let connections: Connections = Arc::default();
        let accept_stop = stop.clone();
        let accept_connections = connections.clone();
        tokio::spawn(async move {
            let next_id = AtomicU64::new(1);
            let accepting = async {
                loop {
                    let (tcp, peer) = match listener.accept().await {
                        Ok(accepted) => accepted,
                        Err(_) => {
                            // Out of file descriptors (EMFILE) and the like: back off instead
                            // of spinning on a listener that stays readable.
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let _ = tcp.set_nodelay(true);
                    let id = next_id.fetch_add(1, Ordering::Relaxed);
                    let (tx, rx) = mpsc::unbounded_channel();
                    accept_connections.lock().unwrap().insert(id, tx);
                    let task = serve(
                        id,
                        peer,
                        tcp,
                        rx,
                        config.clone(),
                        on_event.clone(),
                        accept_connections.clone(),
                    );
                    tokio::spawn(task);
                }
            };
            let _ = accept_stop
                .run(async {
                    accepting.await;
                    Ok::<(), crate::error::Failure>(())
                })
                .await;
        });
        Ok(Receiver {
            local_addr,
            stop,
            connections,
        })
    }

    /// Queue `message` (unframed) as a frame on connection `conn`; false if it is gone.
    pub fn write(&self, conn: u64, message: &[u8]) -> bool {
        self.send(conn, Command::Write(encode_frame(message)))
    }

    /// Queue raw bytes on connection `conn` as they are (for fault plays).
    pub fn write_raw(&self, conn: u64, bytes: Vec<u8>) -> bool {
        self.send(conn, Command::Write(bytes))
    }

    pub fn close_connection(&self, conn: u64) -> bool {
        self.send(conn, Command::Close)
    }

    fn send(&self, conn: u64, command: Command) -> bool {
        self.connections
            .lock()
            .unwrap()
            .get(&conn)
            .is_some_and(|tx| tx.send(command).is_ok())
    }

    /// Stop accepting and close every open connection.
    pub fn close(&self) {
        self.stop.cancel();
        for (_, tx) in self.connections.lock().unwrap().drain() {
            let _ = tx.send(Command::Close);
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.close();
    }
}

async fn serve(
    id: u64,
    peer: SocketAddr,
    tcp: TcpStream,
    mut commands: mpsc::UnboundedReceiver<Command>,
    config: ReceiverConfig,
    on_event: Arc<dyn Fn(Event) + Send + Sync>,
    connections: Connections,
) {
    let result = async {
        let stream = match &config.tls {
            None => Stream::Plain(tcp),
            Some(tls) => {
                let acceptor = tokio_rustls::TlsAcceptor::from(tls.clone());
                let tls = timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp))
                    .await
                    .map_err(|_| MllpError::Timeout("TLS handshake timed out".into()))?
                    .map_err(|e| MllpError::from_io(&e, "accepting TLS"))?;
                Stream::ServerTls(Box::new(tls))
            }
        };
        let mut conn = Connection::new(stream, config.max_frame_bytes);
        loop {
            tokio::select! {
                frame = conn.read_frame_or_eof() => match frame? {
                    Some(bytes) => on_event(Event::Message { conn: id, peer, bytes }),
                    None => return Ok(()),
                },
                command = commands.recv() => match command {
                    Some(Command::Write(bytes)) => {
                        let deadline = Instant::now() + Duration::from_secs(30);
                        conn.write_all(&bytes, deadline, "30 s").await?;
                    }
                    Some(Command::Close) | None => return Ok(()),
                },
            }
        }
    }
    .await;
    connections.lock().unwrap().remove(&id);
    on_event(Event::Closed {
        conn: id,
        error: result.err().map(|e: MllpError| e.to_string()),
    });
}
