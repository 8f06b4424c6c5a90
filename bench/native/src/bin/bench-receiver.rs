//! bench-receiver: a fast MLLP receiver for the benchmark. It answers every frame with an
//! `AA` ACK (with `--enhanced`: a `CA` frame, then an `AA` frame) whose MSA-2 is the
//! message's MSH-10, and never copies message content: it scans each frame for its end with
//! `memchr` and keeps only the start of the MSH segment to read MSH-10.
//!
//! Usage:
//!   bench-receiver [--host 127.0.0.1] [--port 0] [--enhanced] [--tls CERT.pem KEY.pem]
//!
//! Prints `LISTENING <port>` once bound. Then reads commands on stdin, one per line:
//! `stats` prints one JSON line with its counters and its own CPU time (getrusage); at end
//! of stdin it prints the same line and exits, so it never outlives the runner.

use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;

use glion_bench_native::{cpu_seconds, peak_rss_kib, tls_server_config};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const SB: u8 = 0x0B;
const EB: u8 = 0x1C;
const CR: u8 = 0x0D;
/// Bytes of a frame kept to find MSH-10 (the rest of the frame is only scanned).
const HEADER_MAX: usize = 512;
const READ_BUF: usize = 256 * 1024;

#[derive(Default)]
struct Counters {
    connections: AtomicU64,
    messages: AtomicU64,
    bytes_in: AtomicU64,
    errors: AtomicU64,
    tls_full: AtomicU64,
    tls_resumed: AtomicU64,
}

struct Options {
    host: String,
    port: u16,
    enhanced: bool,
    tls: Option<(String, String)>,
}

fn parse_args() -> Options {
    let mut o = Options { host: "127.0.0.1".into(), port: 0, enhanced: false, tls: None };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--host" => o.host = args.next().expect("--host VALUE"),
            "--port" => o.port = args.next().and_then(|v| v.parse().ok()).expect("--port NUMBER"),
            "--enhanced" => o.enhanced = true,
            "--tls" => {
                let cert = args.next().expect("--tls CERT KEY");
                let key = args.next().expect("--tls CERT KEY");
                o.tls = Some((cert, key));
            }
            other => {
                eprintln!("bench-receiver: unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    o
}

/// MSH-10 of a message whose first bytes are `header` (`None` if there is no MSH-10 in it).
fn control_id(header: &[u8]) -> &[u8] {
    if header.len() < 4 || &header[..3] != b"MSH" {
        return b"";
    }
    let sep = header[3];
    let seg_end = memchr::memchr(CR, header).unwrap_or(header.len());
    let seg = &header[..seg_end];
    // Field 9 counting MSH as 0: the text after the 9th separator.
    let mut seen = 0;
    let mut start = None;
    for (i, &b) in seg.iter().enumerate() {
        if b == sep {
            seen += 1;
            if seen == 9 {
                start = Some(i + 1);
            } else if seen == 10 {
                return &seg[start.unwrap_or(i)..i];
            }
        }
    }
    match start {
        Some(s) => &seg[s..],
        None => b"",
    }
}

fn push_ack(out: &mut Vec<u8>, code: &[u8], id: &[u8]) {
    out.push(SB);
    out.extend_from_slice(b"MSH|^~\\&|BENCH|RECV|BENCH|SEND|20260101000000||ACK^R01^ACK|A");
    out.extend_from_slice(id);
    out.extend_from_slice(b"|P|2.5\rMSA|");
    out.extend_from_slice(code);
    out.push(b'|');
    out.extend_from_slice(id);
    out.extend_from_slice(b"\r");
    out.push(EB);
    out.push(CR);
}

#[derive(PartialEq)]
enum State {
    Outside,
    /// Inside a frame; `header` holds its first bytes (up to HEADER_MAX).
    Inside,
    AfterEnd,
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, enhanced: bool, c: Arc<Counters>) {
    let mut buf = vec![0u8; READ_BUF];
    let mut header: Vec<u8> = Vec::with_capacity(HEADER_MAX);
    let mut state = State::Outside;
    let mut out: Vec<u8> = Vec::with_capacity(256);
    let mut aa: Vec<u8> = Vec::with_capacity(256);
    loop {
        let n = match s.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(_) => {
                // A client that drops without close_notify (TLS) or resets: not our problem.
                break;
            }
        };
        c.bytes_in.fetch_add(n as u64, Relaxed);
        let mut at = 0;
        while at < n {
            match state {
                State::Outside => {
                    let b = buf[at];
                    at += 1;
                    if b == SB {
                        state = State::Inside;
                        header.clear();
                    } else if !matches!(b, 0x00 | 0x0A | 0x0D | 0x20 | 0x09) {
                        c.errors.fetch_add(1, Relaxed);
                        return;
                    }
                }
                State::Inside => {
                    let rest = &buf[at..n];
                    let stop = memchr::memchr(EB, rest);
                    let take = stop.unwrap_or(rest.len());
                    if header.len() < HEADER_MAX {
                        let keep = take.min(HEADER_MAX - header.len());
                        header.extend_from_slice(&rest[..keep]);
                    }
                    at += take;
                    if stop.is_some() {
                        at += 1;
                        state = State::AfterEnd;
                    }
                }
                State::AfterEnd => {
                    if buf[at] != CR {
                        c.errors.fetch_add(1, Relaxed);
                        return;
                    }
                    at += 1;
                    state = State::Outside;
                    c.messages.fetch_add(1, Relaxed);
                    let id = control_id(&header);
                    if enhanced {
                        // The commit ACK, then the application ACK as a separate write.
                        push_ack(&mut out, b"CA", id);
                        push_ack(&mut aa, b"AA", id);
                        if !write_out(&mut s, &mut out).await || !write_out(&mut s, &mut aa).await {
                            return;
                        }
                    } else {
                        push_ack(&mut out, b"AA", id);
                    }
                }
            }
        }
        if !out.is_empty() && !write_out(&mut s, &mut out).await {
            return;
        }
    }
    let _ = s.shutdown().await;
}

async fn write_out<S: AsyncWrite + Unpin>(s: &mut S, out: &mut Vec<u8>) -> bool {
    let ok = s.write_all(out).await.is_ok() && s.flush().await.is_ok();
    out.clear();
    ok
}

fn stats_line(c: &Counters, started: Instant) -> String {
    let (user, sys) = cpu_seconds();
    format!(
        "{{\"connections\":{},\"messages\":{},\"bytes_in\":{},\"errors\":{},\"tls_full\":{},\"tls_resumed\":{},\"cpu_user_s\":{:.6},\"cpu_sys_s\":{:.6},\"wall_s\":{:.6},\"peak_rss_kib\":{}}}",
        c.connections.load(Relaxed),
        c.messages.load(Relaxed),
        c.bytes_in.load(Relaxed),
        c.errors.load(Relaxed),
        c.tls_full.load(Relaxed),
        c.tls_resumed.load(Relaxed),
        user,
        sys,
        started.elapsed().as_secs_f64(),
        peak_rss_kib()
    )
}

fn main() {
    let o = parse_args();
    // Multi-threaded: one worker per CPU this process may run on (taskset narrows it).
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async move {
        let started = Instant::now();
        let counters = Arc::new(Counters::default());
        let tls = o.tls.as_ref().map(|(cert, key)| {
            tokio_rustls::TlsAcceptor::from(tls_server_config(cert, key).unwrap_or_else(|e| {
                eprintln!("bench-receiver: {e}");
                std::process::exit(2)
            }))
        });
        let listener = TcpListener::bind((o.host.as_str(), o.port)).await.unwrap_or_else(|e| {
            eprintln!("bench-receiver: cannot listen on {}:{}: {e}", o.host, o.port);
            std::process::exit(2)
        });
        let port = listener.local_addr().expect("local addr").port();
        {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "LISTENING {port}");
            let _ = stdout.flush();
        }
        let accept_counters = counters.clone();
        let enhanced = o.enhanced;
        tokio::spawn(async move {
            loop {
                let (tcp, _) = match listener.accept().await {
                    Ok(x) => x,
                    Err(_) => {
                        // EMFILE and friends: back off briefly rather than spin.
                        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                accept_counters.connections.fetch_add(1, Relaxed);
                let c = accept_counters.clone();
                match &tls {
                    None => {
                        tokio::spawn(serve(tcp, enhanced, c));
                    }
                    Some(acceptor) => {
                        let acceptor = acceptor.clone();
                        tokio::spawn(async move {
                            match acceptor.accept(tcp).await {
                                Ok(stream) => {
                                    let resumed = stream.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
                                    (if resumed { &c.tls_resumed } else { &c.tls_full }).fetch_add(1, Relaxed);
                                    serve(stream, enhanced, c).await
                                }
                                Err(_) => {
                                    c.errors.fetch_add(1, Relaxed);
                                }
                            }
                        });
                    }
                }
            }
        });
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if line.trim() == "stats" {
                println!("{}", stats_line(&counters, started));
            }
        }
        println!("{}", stats_line(&counters, started));
    });
    // Do not wait for open connections: the runner is gone.
    rt.shutdown_background();
}

#[cfg(test)]
mod tests {
    use super::control_id;

    #[test]
    fn finds_msh10() {
        assert_eq!(control_id(b"MSH|^~\\&|A|B|C|D|T||ORU^R01|ID42|P|2.5\rPID|1"), b"ID42");
        assert_eq!(control_id(b"MSH|^~\\&|A|B|C|D|T||ORU^R01|ID42"), b"ID42");
        assert_eq!(control_id(b"MSH|^~\\&|A"), b"");
        assert_eq!(control_id(b"XYZ"), b"");
    }
}
