//! The base snapshot file: one line of JSON metadata, a newline, then the
//! payload bytes exactly as received, so the content hash is verified on
//! load. Written to a temporary file, synced and renamed: a crash leaves the
//! old or the new file, never half of one. Mode 0600: it holds provider
//! keys.

use super::DiskError;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

const FILE: &str = "snapshot.bin";

#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    version: u64,
    content_hash: String,
}

pub struct DiskSnapshot {
    pub version: u64,
    pub content_hash: String,
    pub payload: Vec<u8>,
}

pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE)
}

pub fn persist(
    state_dir: &Path,
    version: u64,
    content_hash: &str,
    payload: &[u8],
) -> Result<(), DiskError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DiskError::Io { path, source }
    };
    std::fs::create_dir_all(state_dir).map_err(io(state_dir))?;
    let target = path(state_dir);
    let tmp = state_dir.join(format!("{FILE}.tmp"));
    let meta = serde_json::to_vec(&Meta {
        version,
        content_hash: content_hash.to_string(),
    })
    .map_err(|_| DiskError::Format {
        path: target.clone(),
    })?;
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(io(&tmp))?;
        file.write_all(&meta).map_err(io(&tmp))?;
        file.write_all(b"\n").map_err(io(&tmp))?;
        file.write_all(payload).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, &target).map_err(io(&target))?;
    // The rename is durable only once the directory entry is.
    if let Ok(dir) = std::fs::File::open(state_dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// `Ok(None)` when there is no file yet.
pub fn load(state_dir: &Path) -> Result<Option<DiskSnapshot>, DiskError> {
    let target = path(state_dir);
    let bytes = match std::fs::read(&target) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(DiskError::Io {
                path: target,
                source,
            });
        }
    };
    let newline = bytes
        .iter()
        .position(|b| *b == b'\n')
        .ok_or_else(|| DiskError::Format {
            path: target.clone(),
        })?;
    let meta: Meta = serde_json::from_slice(&bytes[..newline]).map_err(|_| DiskError::Format {
        path: target.clone(),
    })?;
    Ok(Some(DiskSnapshot {
        version: meta.version,
        content_hash: meta.content_hash,
        payload: bytes[newline + 1..].to_vec(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_is_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(load(dir.path()).expect("no file is fine").is_none());
        persist(dir.path(), 7, "abc", b"{\"x\":\n1}").expect("persist");
        let s = load(dir.path()).expect("load").expect("present");
        assert_eq!(
            (s.version, s.content_hash.as_str(), s.payload.as_slice()),
            (7, "abc", &b"{\"x\":\n1}"[..])
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path(dir.path()))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(path(dir.path()), b"no newline here").expect("write");
        assert!(load(dir.path()).is_err());
    }
}
