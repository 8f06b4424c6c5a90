//! TLS configuration built once per client (or receiver) from PEM material.
//!
//! PEM is parsed with `rustls-pki-types`' `PemObject`; an encrypted PKCS#8 key is opened
//! with the `pkcs8` crate. Every failure here is `INVALID_INPUT` naming the option at fault,
//! because it is raised at construction, before any socket exists.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::MllpError;

/// TLS material as the caller gave it (PEM bytes).
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    pub ca: Option<Vec<Vec<u8>>>,
    pub cert: Option<Vec<u8>>,
    pub key: Option<Vec<u8>>,
    pub passphrase: Option<String>,
    pub servername: Option<String>,
    pub insecure: bool,
}

/// What a connection needs: the shared rustls config and the name to verify.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    pub config: Arc<rustls::ClientConfig>,
    pub server_name: ServerName<'static>,
}

fn invalid(reason: String) -> MllpError {
    MllpError::InvalidInput(reason)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The operating system's trust store, read once per process.
fn system_roots() -> Result<Arc<RootCertStore>, MllpError> {
    static ROOTS: OnceLock<Result<Arc<RootCertStore>, String>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            let mut store = RootCertStore::empty();
            let (added, _ignored) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(format!(
                    "no trusted root certificates found in the operating system's store{}; pass tls.ca",
                    found.errors.first().map(|e| format!(" ({e})")).unwrap_or_default()
                ));
            }
            Ok(Arc::new(store))
        })
        .clone()
        .map_err(MllpError::Tls)
}

pub fn parse_certs(pem: &[u8], option: &str) -> Result<Vec<CertificateDer<'static>>, MllpError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("{option} is not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(invalid(format!("{option} contains no PEM certificate")));
    }
    Ok(certs)
}

/// A private key in PKCS#8 (optionally encrypted), PKCS#1 or SEC1 PEM.
pub fn parse_key(
    pem: &[u8],
    passphrase: Option<&str>,
    option: &str,
) -> Result<PrivateKeyDer<'static>, MllpError> {
    let text = String::from_utf8_lossy(pem);
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        let Some(passphrase) = passphrase else {
            return Err(invalid(format!(
                "{option} is encrypted: tls.passphrase is required"
            )));
        };
        let (_, der) = pkcs8::der::pem::decode_vec(text.trim().as_bytes())
            .map_err(|e| invalid(format!("{option} is not valid PEM: {e}")))?;
        let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice())
            .map_err(|e| invalid(format!("{option} is not an encrypted PKCS#8 key: {e}")))?;
        let plain = info.decrypt(passphrase.as_bytes()).map_err(|_| {
            invalid(format!(
                "tls.passphrase does not decrypt {option} (wrong passphrase or unsupported cipher)"
            ))
        })?;
        return Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            plain.as_bytes().to_vec(),
        )));
    }
    if text.contains("-----BEGIN RSA PRIVATE KEY-----") && text.contains("ENCRYPTED") {
        return Err(invalid(format!(
            "{option} uses legacy OpenSSL PEM encryption; convert it to encrypted PKCS#8 (openssl pkcs8 -topk8)"
        )));
    }
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| {
        invalid(format!(
            "{option} holds no usable private key (PKCS#8, PKCS#1 or SEC1 PEM): {e}"
        ))
    })
}

fn parse_server_name(name: &str, option: &str) -> Result<ServerName<'static>, MllpError> {
    ServerName::try_from(name.to_string()).map_err(|_| {
        invalid(format!(
            "{option} {name:?} is not a valid DNS name or IP address"
        ))
    })
}

/// Build the client side once: trust roots, optional client identity, name to verify.
pub fn client_settings(opts: &TlsOptions, host: &str) -> Result<TlsSettings, MllpError> {
    let server_name = match &opts.servername {
        Some(name) => parse_server_name(name, "tls.servername")?,
        None => parse_server_name(host, "host")?,
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| MllpError::Tls(e.to_string()))?;
    let builder = if opts.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider())))
    } else {
        let roots = match &opts.ca {
            Some(pems) => {
                let mut store = RootCertStore::empty();
                for (i, pem) in pems.iter().enumerate() {
                    let option = if pems.len() > 1 {
                        format!("tls.ca[{i}]")
                    } else {
                        "tls.ca".into()
                    };
                    for cert in parse_certs(pem, &option)? {
                        store.add(cert).map_err(|e| {
                            invalid(format!("{option} holds an unusable certificate: {e}"))
                        })?;
                    }
                }
                Arc::new(store)
            }
            None => system_roots()?,
        };
        builder.with_root_certificates(roots)
    };
    let mut config = match (&opts.cert, &opts.key) {
        (Some(cert), Some(key)) => {
            let chain = parse_certs(cert, "tls.cert")?;
            let key = parse_key(key, opts.passphrase.as_deref(), "tls.key")?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                invalid(format!("tls.key does not fit tls.cert or is unusable: {e}"))
            })?
        }
        (Some(_), None) => return Err(invalid("tls.cert is given without tls.key".into())),
        (None, Some(_)) => return Err(invalid("tls.key is given without tls.cert".into())),
        (None, None) => builder.with_no_client_auth(),
    };
    // Resumption is on by default in rustls: the config is shared by every send of a client.
    config.enable_sni = true;
    Ok(TlsSettings {
        config: Arc::new(config),
        server_name,
    })
}

/// Server side for the test receiver: certificate chain, key, and optionally a CA that
/// client certificates must chain to (`require_client_cert`).
pub fn server_config(
    cert: &[u8],
    key: &[u8],
    ca: Option<&[u8]>,
    require_client_cert: bool,
) -> Result<Arc<rustls::ServerConfig>, MllpError> {
    let chain = parse_certs(cert, "tls.cert")?;
    let key = parse_key(key, None, "tls.key")?;
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| MllpError::Tls(e.to_string()))?;
    let builder = match ca {
        Some(ca) => {
            let mut store = RootCertStore::empty();
            for cert in parse_certs(ca, "tls.ca")? {
                store
                    .add(cert)
                    .map_err(|e| invalid(format!("tls.ca: {e}")))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(store),
                provider(),
            );
            let verifier = if require_client_cert {
                verifier
            } else {
                verifier.allow_unauthenticated()
            };
            builder.with_client_cert_verifier(
                verifier
                    .build()
                    .map_err(|e| invalid(format!("tls.ca: {e}")))?,
            )
        }
        None if require_client_cert => {
            return Err(invalid(
                "tls.requestCert needs tls.ca to verify client certificates".into(),
            ))
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder
        .with_single_cert(chain, key)
        .map_err(|e| invalid(format!("tls.key does not fit tls.cert or is unusable: {e}")))?;
    Ok(Arc::new(config))
}

/// `insecure: true`: accept any server certificate (tests only). Signatures are still
/// checked so the handshake itself stays sound.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
