//! Readying `app/dist` for phones: each of the app's files is named by a hash of its bytes
//! (`app.0f3c….css`), so a browser may keep it for good and an update changes only the
//! names of what changed, and is stored beside itself compressed (`.br`, `.gz`) for the
//! server to send as it is. The shell that names them (the page, the service worker and
//! the manifest) keeps its name, is asked for anew each time, and is small.

use std::{fs, io::Write, path::Path};

use anyhow::Context;

/// The files named by their hash, each after the files it names: the JS glue loads the
/// wasm, `start.js` loads the glue, the page and the manifest name everything.
const HASHED: [&str; 10] = [
    "voordeur-app_bg.wasm",
    "voordeur-app.js",
    "start.js",
    "vault.js",
    "app.css",
    "icon.svg",
    "icon-192.png",
    "icon-512.png",
    "icon-maskable-512.png",
    "icon-apple-180.png",
];

/// The shell: fixed names, so a browser can always find the current version.
const SHELL: [&str; 3] = ["index.html", "sw.js", "manifest.webmanifest"];

/// Files already compressed in their own format gain nothing from another.
fn compresses(name: &str) -> bool {
    !name.ends_with(".png")
}

/// FNV-1a: a stable fingerprint of bytes, 16 hex digits.
fn fingerprint<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in parts.into_iter().flatten() {
        hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// `app.css` with hash `h` is `app.h.css`.
fn hashed_name(name: &str, hash: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, extension)) => format!("{stem}.{hash}.{extension}"),
        None => format!("{name}.{hash}"),
    }
}

/// Replaces every name in `renamed` in a text file's bytes; other files are left as they
/// are.
fn rename_within(bytes: Vec<u8>, renamed: &[(String, String)]) -> Vec<u8> {
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            for (old, new) in renamed {
                text = text.replace(old.as_str(), new);
            }
            text.into_bytes()
        }
        Err(not_text) => not_text.into_bytes(),
    }
}

fn compress(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut brotli = Vec::new();
    brotli::BrotliCompress(
        &mut &bytes[..],
        &mut brotli,
        &brotli::enc::BrotliEncoderParams {
            quality: 11,
            lgwin: 22,
            ..Default::default()
        },
    )?;
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(bytes)?;
    let name = path.file_name().context("a file name")?.to_string_lossy();
    fs::write(path.with_file_name(format!("{name}.br")), brotli)?;
    fs::write(path.with_file_name(format!("{name}.gz")), gzip.finish()?)?;
    Ok(())
}

/// Names the app's files in `dist` by their hashes, compresses them, and writes the new
/// names into the shell; the service worker's `__VERSION__` becomes a hash of the whole
/// app. Returns that version.
pub fn seal(dist: &Path) -> anyhow::Result<String> {
    let mut renamed: Vec<(String, String)> = Vec::new();
    for name in HASHED {
        let path = dist.join(name);
        let bytes = fs::read(&path).with_context(|| format!("failed to read {path:?}"))?;
        let bytes = rename_within(bytes, &renamed);
        let new = hashed_name(name, &fingerprint([&bytes[..]]));
        let new_path = dist.join(&new);
        fs::write(&new_path, &bytes).with_context(|| format!("failed to write {new:?}"))?;
        fs::remove_file(&path)?;
        if compresses(name) {
            compress(&new_path, &bytes).with_context(|| format!("failed to compress {new:?}"))?;
        }
        renamed.push((name.to_string(), new));
    }
    let mut shell = Vec::new();
    for name in SHELL {
        let path = dist.join(name);
        let bytes = fs::read(&path).with_context(|| format!("failed to read {path:?}"))?;
        shell.push((path, rename_within(bytes, &renamed)));
    }
    let names = renamed.iter().map(|(_, new)| new.as_bytes());
    let version = fingerprint(names.chain(shell.iter().map(|(_, bytes)| &bytes[..])));
    for (path, bytes) in shell {
        let bytes = if path.ends_with("sw.js") {
            String::from_utf8(bytes)?
                .replace("__VERSION__", &version)
                .into_bytes()
        } else {
            bytes
        };
        fs::write(&path, bytes).with_context(|| format!("failed to write {path:?}"))?;
    }
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_named_by_its_hash_before_its_extension() {
        assert_eq!(hashed_name("app.css", "00ff"), "app.00ff.css");
        assert_eq!(
            hashed_name("voordeur-app_bg.wasm", "00ff"),
            "voordeur-app_bg.00ff.wasm"
        );
    }

    #[test]
    fn names_are_replaced_in_text_and_not_in_binary_files() {
        let renamed = [("app.css".to_string(), "app.1.css".to_string())];
        assert_eq!(
            rename_within(b"<link href=\"/app.css\">".to_vec(), &renamed),
            b"<link href=\"/app.1.css\">"
        );
        let binary = vec![0xff, b'a', b'p', b'p'];
        assert_eq!(rename_within(binary.clone(), &renamed), binary);
    }
}
