//! Shared helpers of the two benchmark binaries: process accounting, TLS material, and the
//! message template with a fixed-width MSH-10 that each client overwrites per message.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Width of the control ids the benchmark writes into MSH-10 (`B` + 11 digits).
pub const ID_WIDTH: usize = 12;

/// User and system CPU seconds of this process so far (getrusage, all threads).
pub fn cpu_seconds() -> (f64, f64) {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(ru.ru_utime), t(ru.ru_stime))
}

/// Peak resident set size (VmHWM) in KiB, from /proc/self/status.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

pub fn tls_server_config(cert: &str, key: &str) -> Result<Arc<rustls::ServerConfig>, String> {
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("{cert}: {e}"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{cert}: {e}"))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{key}: {e}"))?;
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(config))
}

/// A client config trusting `ca` (PEM file), with rustls' default session resumption.
pub fn tls_client_config(ca: &str) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(|e| format!("{ca}: {e}"))? {
        roots.add(cert.map_err(|e| format!("{ca}: {e}"))?).map_err(|e| format!("{ca}: {e}"))?;
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The message split around MSH-10, so a client can build `prefix + id + suffix`.
#[derive(Clone, Debug)]
pub struct Template {
    pub prefix: Vec<u8>,
    pub suffix: Vec<u8>,
}

impl Template {
    /// Read an HL7 file (segments ended by `\r`; `\n` is turned into `\r`) and split it at MSH-10.
    pub fn load(path: &str) -> Result<Template, String> {
        let mut text = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
        if text.contains(&b'\n') {
            let s = String::from_utf8_lossy(&text).replace("\r\n", "\r").replace('\n', "\r");
            text = s.into_bytes();
        }
        if text.len() < 4 || &text[..3] != b"MSH" {
            return Err(format!("{path}: does not start with MSH"));
        }
        let sep = text[3];
        let seg_end = memchr::memchr(b'\r', &text).unwrap_or(text.len());
        let seps: Vec<usize> = text[..seg_end].iter().enumerate().filter(|(_, &b)| b == sep).map(|(i, _)| i).collect();
        if seps.len() < 10 {
            return Err(format!("{path}: MSH has no MSH-10"));
        }
        Ok(Template { prefix: text[..seps[8] + 1].to_vec(), suffix: text[seps[9]..].to_vec() })
    }

    /// `0x0B prefix <id placeholder> suffix 0x1C 0x0D` and the offset of the id in it.
    pub fn frame(&self) -> (Vec<u8>, usize) {
        let mut f = Vec::with_capacity(self.prefix.len() + ID_WIDTH + self.suffix.len() + 3);
        f.push(0x0B);
        f.extend_from_slice(&self.prefix);
        let at = f.len();
        f.extend_from_slice(&[b'0'; ID_WIDTH]);
        f.extend_from_slice(&self.suffix);
        f.push(0x1C);
        f.push(0x0D);
        (f, at)
    }
}

/// Write control id number `n` as `B` + 11 digits into `out` (ID_WIDTH bytes).
pub fn write_id(out: &mut [u8], mut n: u64) {
    out[0] = b'B';
    for i in (1..ID_WIDTH).rev() {
        out[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_fixed_width() {
        let mut b = [0u8; ID_WIDTH];
        write_id(&mut b, 42);
        assert_eq!(&b, b"B00000000042");
    }
}
