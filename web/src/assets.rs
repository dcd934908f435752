//! The embedded files and the build id that names them in URLs.

use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// `(path under assets/, bytes)`, sorted by path; written by `build.rs`.
static FILES: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/assets_table.rs"));

/// A hash over every asset's path and bytes: any change to any file gives
/// new asset URLs, so an immutable cache never serves a stale module next
/// to a new index (LiteLLM's "stale chunks after upgrade").
pub static BUILD_ID: LazyLock<String> = LazyLock::new(|| {
    let mut hash = Sha256::new();
    for (path, bytes) in FILES {
        hash.update(path.as_bytes());
        hash.update([0]);
        hash.update(Sha256::digest(bytes));
    }
    hex::encode(&hash.finalize()[..6])
});

pub fn get(path: &str) -> Option<&'static [u8]> {
    FILES
        .binary_search_by(|(p, _)| (*p).cmp(path))
        .ok()
        .map(|i| FILES[i].1)
}

pub fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_so_lookups_find_every_file() {
        assert!(FILES.windows(2).all(|w| w[0].0 < w[1].0));
        for (path, bytes) in FILES {
            assert_eq!(get(path), Some(*bytes), "{path}");
        }
        assert!(get("index.html").is_some());
        assert!(get("nope.js").is_none());
    }
}
