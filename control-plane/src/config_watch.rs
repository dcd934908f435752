//! Re-reads the config on change: a file watch on its directory (editors
//! replace files by rename, which a watch on the file itself would miss) and
//! SIGHUP, both feeding the publisher's trigger channel.

use notify::{RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Keeps the watcher alive; dropping it stops watching.
pub struct ConfigWatch {
    _watcher: notify::RecommendedWatcher,
}

pub fn spawn(
    path: &Path,
    triggers: mpsc::Sender<()>,
    cancel: CancellationToken,
) -> notify::Result<ConfigWatch> {
    let file_name = path.file_name().map(|n| n.to_os_string());
    let dir: PathBuf = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_tx = triggers.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        match event {
            Ok(event) => {
                let ours = event
                    .paths
                    .iter()
                    .any(|p| p.file_name().map(|n| n.to_os_string()) == file_name);
                if ours && !event.kind.is_access() {
                    // Full channel = a rebuild is already pending.
                    let _ = file_tx.try_send(());
                }
            }
            Err(e) => warn!("config watch error: {e}"),
        }
    })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    spawn_sighup(triggers, cancel);
    Ok(ConfigWatch { _watcher: watcher })
}

#[cfg(unix)]
fn spawn_sighup(triggers: mpsc::Sender<()>, cancel: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    tokio::spawn(async move {
        let mut hup = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                warn!("cannot listen for SIGHUP: {e}");
                return;
            }
        };
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                s = hup.recv() => {
                    if s.is_none() { return }
                    info!("SIGHUP: reloading config");
                    let _ = triggers.try_send(());
                }
            }
        }
    });
}

#[cfg(not(unix))]
fn spawn_sighup(_: mpsc::Sender<()>, _: CancellationToken) {}
