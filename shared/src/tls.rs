//! TLS set-up common to both planes.

/// Selects rustls' process-wide crypto provider.
///
/// The dependency tree compiles two providers (ring for tonic and sqlx,
/// aws-lc-rs for reqwest), so rustls cannot pick one itself and panics on
/// the first TLS handshake that relies on the default. Idempotent.
pub fn install_crypto_provider() {
    // Err means one is installed already (another plane in this process).
    let _ = rustls::crypto::ring::default_provider().install_default();
}
