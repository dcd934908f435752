//! Embeds every file under `assets/` in the crate: writes a table of
//! `(path, include_bytes!(…))` for `src/assets.rs`. No npm, no network:
//! the assets are the source files themselves.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("assets");
    let mut files = Vec::new();
    walk(&root, &mut files)?;
    let mut entries = Vec::new();
    for file in &files {
        let relative = file
            .strip_prefix(&root)?
            .to_string_lossy()
            .replace('\\', "/");
        entries.push((relative, file));
    }
    // Sorted as strings (what the lookup's binary search compares), so the
    // build id does not depend on directory order either.
    entries.sort();
    let mut table = String::from("&[\n");
    for (relative, file) in &entries {
        writeln!(
            table,
            "    ({relative:?}, include_bytes!({:?}) as &[u8]),",
            file.display().to_string()
        )?;
    }
    table.push(']');
    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("assets_table.rs");
    std::fs::write(out, table)?;
    println!("cargo:rerun-if-changed=assets");
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    Ok(())
}
