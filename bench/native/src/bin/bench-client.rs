//! bench-client: the bare Rust tokio MLLP client (`--impl bare`, the practical limit on
//! this machine) and our own core without napi/JS (`--impl core`, `glion_mllp_client`).
//! Same cases and same output as the JS and Python adapters (see ../../clients/_driver.js).
//!
//! Usage:
//!   bench-client --port P [--host 127.0.0.1] --message FILE
//!                [--mode per-message|persistent] [--concurrency C] [--count N] [--seconds S]
//!                [--warmup W] [--enhanced] [--tls-ca CA.pem --servername NAME] [--impl bare|core]
//!
//! Prints one JSON line: ok, errors, firstError, elapsedS, latenciesUs, peakRssKiB,
//! cpuUserS, cpuSysS (CPU of the measured phase only), cpuTotalS (the whole process).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use glion_bench_native::{cpu_seconds, peak_rss_kib, tls_client_config, write_id, Template, ID_WIDTH};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Clone)]
struct Options {
    host: String,
    port: u16,
    message: String,
    persistent: bool,
    concurrency: usize,
    count: u64,
    seconds: f64,
    warmup: u64,
    enhanced: bool,
    tls_ca: Option<String>,
    servername: String,
    core: bool,
}

fn parse_args() -> Options {
    let mut o = Options {
        host: "127.0.0.1".into(),
        port: 0,
        message: String::new(),
        persistent: false,
        concurrency: 1,
        count: 1000,
        seconds: 5.0,
        warmup: 0,
        enhanced: false,
        tls_ca: None,
        servername: "localhost".into(),
        core: false,
    };
    let mut args = std::env::args().skip(1);
    let value = |name: &str, args: &mut std::iter::Skip<std::env::Args>| {
        args.next().unwrap_or_else(|| fail(&format!("{name} needs a value")))
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--host" => o.host = value("--host", &mut args),
            "--port" => o.port = value("--port", &mut args).parse().unwrap_or_else(|_| fail("bad --port")),
            "--message" => o.message = value("--message", &mut args),
            "--mode" => {
                o.persistent = match value("--mode", &mut args).as_str() {
                    "persistent" => true,
                    "per-message" => false,
                    m => fail(&format!("unknown --mode {m}")),
                }
            }
            "--concurrency" => o.concurrency = value("--concurrency", &mut args).parse().unwrap_or_else(|_| fail("bad --concurrency")),
            "--count" => o.count = value("--count", &mut args).parse().unwrap_or_else(|_| fail("bad --count")),
            "--seconds" => o.seconds = value("--seconds", &mut args).parse().unwrap_or_else(|_| fail("bad --seconds")),
            "--warmup" => o.warmup = value("--warmup", &mut args).parse().unwrap_or_else(|_| fail("bad --warmup")),
            "--enhanced" => o.enhanced = true,
            "--tls-ca" => o.tls_ca = Some(value("--tls-ca", &mut args)),
            "--servername" => o.servername = value("--servername", &mut args),
            "--impl" => {
                o.core = match value("--impl", &mut args).as_str() {
                    "bare" => false,
                    "core" => true,
                    m => fail(&format!("unknown --impl {m}")),
                }
            }
            other => fail(&format!("unknown argument {other}")),
        }
    }
    if o.port == 0 || o.message.is_empty() {
        fail("--port and --message are required");
    }
    o
}

fn fail(msg: &str) -> ! {
    eprintln!("bench-client: {msg}");
    std::process::exit(2)
}

/// Ids are unique across warm-up and measured phases of one process.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

// ---------------------------------------------------------------------------------------
// The bare client: connect, write the frame, read until the ACK frame(s) end, check MSA.

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

struct Bare {
    addr: (String, u16),
    tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
    enhanced: bool,
}

impl Bare {
    async fn connect(&self) -> Result<Box<dyn Io>, String> {
        let tcp = TcpStream::connect((self.addr.0.as_str(), self.addr.1)).await.map_err(|e| format!("connect: {e}"))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        match &self.tls {
            None => Ok(Box::new(tcp)),
            Some((connector, name)) => {
                let s = connector.connect(name.clone(), tcp).await.map_err(|e| format!("tls: {e}"))?;
                Ok(Box::new(s))
            }
        }
    }

    /// One exchange on an open connection: frame out, ACK frame(s) in and checked.
    async fn exchange(&self, s: &mut Box<dyn Io>, frame: &[u8], id: &[u8], rbuf: &mut Vec<u8>) -> Result<(), String> {
        s.write_all(frame).await.map_err(|e| format!("write: {e}"))?;
        s.flush().await.map_err(|e| format!("flush: {e}"))?;
        let want = if self.enhanced { 2 } else { 1 };
        rbuf.clear();
        let mut frames = 0;
        let mut scanned = 0;
        let mut tmp = [0u8; 4096];
        while frames < want {
            let n = s.read(&mut tmp).await.map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("connection closed before the ACK".into());
            }
            rbuf.extend_from_slice(&tmp[..n]);
            while let Some(i) = memchr::memmem::find(&rbuf[scanned..], b"\x1c\x0d") {
                frames += 1;
                scanned += i + 2;
            }
        }
        // Check each frame: MSA-1 (CA then AA in enhanced mode) and MSA-2 = our id.
        let mut rest = &rbuf[..];
        for k in 0..want {
            let end = memchr::memmem::find(rest, b"\x1c\x0d").ok_or("no frame end")?;
            let f = &rest[..end];
            let at = memchr::memmem::find(f, b"\rMSA|").ok_or("ACK without MSA")? + 5;
            let code: &[u8] = if self.enhanced && k == 0 { b"CA" } else { b"AA" };
            if f.len() < at + 3 + id.len() || &f[at..at + 2] != code || f[at + 2] != b'|' || &f[at + 3..at + 3 + id.len()] != id {
                return Err(format!("unexpected ACK {:?}", String::from_utf8_lossy(f)));
            }
            rest = &rest[end + 2..];
        }
        Ok(())
    }
}

/// One worker of the bare client: `next()` yields message numbers until the run is over.
async fn bare_worker(b: Arc<Bare>, frame: Arc<(Vec<u8>, usize)>, persistent: bool, run: Arc<Run>) -> Vec<f32> {
    let (mut frame, at) = ((*frame).0.clone(), frame.1);
    let mut lat = Vec::new();
    let mut rbuf = Vec::with_capacity(512);
    let mut conn: Option<Box<dyn Io>> = None;
    while run.next() {
        let n = NEXT_ID.fetch_add(1, Relaxed);
        write_id(&mut frame[at..at + ID_WIDTH], n);
        let id = frame[at..at + ID_WIDTH].to_vec();
        let t0 = Instant::now();
        let result = async {
            let mut s = match conn.take() {
                Some(s) => s,
                None => b.connect().await?,
            };
            b.exchange(&mut s, &frame, &id, &mut rbuf).await?;
            if persistent {
                conn = Some(s);
            }
            Ok::<(), String>(())
        }
        .await;
        let us = t0.elapsed().as_secs_f64() * 1e6;
        run.record(result, us, &mut lat);
    }
    lat
}

// ---------------------------------------------------------------------------------------
// Our core without napi: `glion_mllp_client::client::send` (per message only).

#[cfg(feature = "core")]
mod core_impl {
    use super::*;
    use glion_mllp_client::client::{self, ClientSettings};
    use glion_mllp_client::message::{prepare_text, Encoding};
    use glion_mllp_client::tls::{client_settings, TlsOptions};

    pub fn settings(o: &Options) -> Result<ClientSettings, String> {
        let tls = match &o.tls_ca {
            None => None,
            Some(ca) => {
                let pem = std::fs::read(ca).map_err(|e| format!("{ca}: {e}"))?;
                let opts = TlsOptions { ca: Some(vec![pem]), servername: Some(o.servername.clone()), ..Default::default() };
                Some(client_settings(&opts, &o.host).map_err(|e| e.to_string())?)
            }
        };
        Ok(ClientSettings {
            host: o.host.clone(),
            port: o.port,
            tls,
            connect_timeout: Duration::from_secs(10),
            ack_timeout: Duration::from_secs(30),
            encoding: Encoding::UTF8,
            max_frame_bytes: 1024 * 1024,
            verify_control_id: true,
        })
    }

    pub async fn worker(settings: Arc<ClientSettings>, template: Arc<Template>, enhanced: bool, run: Arc<Run>) -> Vec<f32> {
        let mut lat = Vec::new();
        let mut id = [0u8; ID_WIDTH];
        while run.next() {
            write_id(&mut id, NEXT_ID.fetch_add(1, Relaxed));
            let t0 = Instant::now();
            // What the napi binding does per send: the JS string arrives as a Rust String,
            // is checked and framed (`prepare_text`), then `client::send`.
            let mut text = String::with_capacity(template.prefix.len() + ID_WIDTH + template.suffix.len());
            text.push_str(std::str::from_utf8(&template.prefix).unwrap());
            text.push_str(std::str::from_utf8(&id).unwrap());
            text.push_str(std::str::from_utf8(&template.suffix).unwrap());
            let result = async {
                let prepared = prepare_text(&text, Encoding::UTF8).map_err(|e| e.to_string())?;
                let ack_timeout = settings.ack_timeout;
                if enhanced {
                    let mut ex = client::open(&settings, prepared, ack_timeout);
                    let first = ex.next_ack().await.map_err(|f| f.error.to_string())?;
                    let second = ex.next_ack().await.map_err(|f| f.error.to_string())?;
                    ex.close();
                    match (first.map(|a| a.code.as_str()), second.map(|a| a.code.as_str())) {
                        (Some("CA"), Some("AA")) => Ok(()),
                        other => Err(format!("unexpected ACK codes {other:?}")),
                    }
                } else {
                    let ack = client::send(&settings, prepared, ack_timeout).await.map_err(|f| f.error.to_string())?;
                    if ack.code.as_str() == "AA" {
                        Ok(())
                    } else {
                        Err(format!("ACK code {}", ack.code.as_str()))
                    }
                }
            }
            .await;
            run.record(result, t0.elapsed().as_secs_f64() * 1e6, &mut lat);
        }
        lat
    }
}

// ---------------------------------------------------------------------------------------
// The run: at most `count` messages and at most `seconds`, over `concurrency` workers.

struct Run {
    issued: AtomicU64,
    count: u64,
    deadline: Instant,
    ok: AtomicU64,
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Run {
    fn new(count: u64, seconds: f64) -> Arc<Run> {
        Arc::new(Run {
            issued: AtomicU64::new(0),
            count,
            deadline: Instant::now() + Duration::from_secs_f64(seconds),
            ok: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            first_error: Mutex::new(None),
        })
    }

    fn next(&self) -> bool {
        Instant::now() < self.deadline && self.issued.fetch_add(1, Relaxed) < self.count
    }

    fn record(&self, result: Result<(), String>, us: f64, lat: &mut Vec<f32>) {
        match result {
            Ok(()) => {
                self.ok.fetch_add(1, Relaxed);
                lat.push(us as f32);
            }
            Err(e) => {
                self.errors.fetch_add(1, Relaxed);
                self.first_error.lock().unwrap().get_or_insert(e);
            }
        }
    }
}

async fn phase(o: &Options, template: &Arc<Template>, count: u64, seconds: f64) -> Result<(Arc<Run>, Vec<f32>, f64), String> {
    let run = Run::new(count, seconds);
    let started = Instant::now();
    let mut handles = Vec::new();
    if o.core {
        #[cfg(feature = "core")]
        {
            if o.persistent {
                return Err("our core has no persistent connections yet (pool: issue 7 item 3)".into());
            }
            let settings = Arc::new(core_impl::settings(o)?);
            for _ in 0..o.concurrency {
                handles.push(tokio::spawn(core_impl::worker(settings.clone(), template.clone(), o.enhanced, run.clone())));
            }
        }
        #[cfg(not(feature = "core"))]
        return Err("built without the `core` feature".into());
    } else {
        let tls = match &o.tls_ca {
            None => None,
            Some(ca) => {
                let name = ServerName::try_from(o.servername.clone()).map_err(|e| e.to_string())?;
                Some((tokio_rustls::TlsConnector::from(tls_client_config(ca)?), name))
            }
        };
        let bare = Arc::new(Bare { addr: (o.host.clone(), o.port), tls, enhanced: o.enhanced });
        let frame = Arc::new(template.frame());
        for _ in 0..o.concurrency {
            handles.push(tokio::spawn(bare_worker(bare.clone(), frame.clone(), o.persistent, run.clone())));
        }
    }
    let mut lat = Vec::new();
    for h in handles {
        lat.extend(h.await.map_err(|e| e.to_string())?);
    }
    Ok((run, lat, started.elapsed().as_secs_f64()))
}

#[tokio::main]
async fn main() {
    let o = parse_args();
    let template = Arc::new(Template::load(&o.message).unwrap_or_else(|e| fail(&e)));
    if o.warmup > 0 {
        if let Err(e) = phase(&o, &template, o.warmup, o.seconds.min(2.0)).await {
            fail(&e);
        }
    }
    let (user0, sys0) = cpu_seconds();
    let (run, lat, elapsed) = phase(&o, &template, o.count, o.seconds).await.unwrap_or_else(|e| fail(&e));
    let (user1, sys1) = cpu_seconds();
    let (user, sys) = (user1 - user0, sys1 - sys0);
    let first_error = run.first_error.lock().unwrap().clone();
    let lat_json: Vec<String> = lat.iter().map(|v| format!("{v:.1}")).collect();
    println!(
        "{{\"ok\":{},\"errors\":{},\"firstError\":{},\"elapsedS\":{:.6},\"peakRssKiB\":{},\"cpuUserS\":{:.6},\"cpuSysS\":{:.6},\"cpuTotalS\":{:.6},\"latenciesUs\":[{}]}}",
        run.ok.load(Relaxed),
        run.errors.load(Relaxed),
        first_error.map(|e| json_string(&e)).unwrap_or_else(|| "null".into()),
        elapsed,
        peak_rss_kib(),
        user,
        sys,
        user1 + sys1,
        lat_json.join(",")
    );
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
