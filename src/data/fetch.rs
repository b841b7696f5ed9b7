//! Downloading the GroupLens MovieLens zips (`embedrec data fetch`), checked against
//! their published MD5s and unpacked safely.
//!
//! [`fetch`] is idempotent: when the dataset folder is already there with every expected
//! file, it returns at once without touching the network. Otherwise it
//!
//! 1. streams the zip to `DIR/<name>.zip.part`, computing its MD5 on the way (the body is
//!    never held in memory), telling the caller's callback of every chunk (the command
//!    line draws a progress bar from it; the library prints nothing);
//! 2. checks the MD5 (when the dataset has a published one) and renames the file to
//!    `DIR/<name>.zip`;
//! 3. unpacks it into `DIR/.<name>.unpack-tmp`, refusing entries with absolute paths,
//!    `..` components or symbolic links (zip-slip), checks that the expected files are
//!    there, and renames the dataset's top folder to `DIR/<top>` in one step;
//! 4. deletes the zip (the unpacked folder is what the other commands read; keeping the
//!    zip would double the disk use, and a new fetch re-downloads it when needed).
//!
//! Whatever fails, nothing partial is left in `DIR`: the `.part` file, the zip and the
//! temporary folder are removed, so the dataset folder either appears whole or not at all.
//! Two fetches of the same dataset into the same folder at the same time are not
//! supported (they share the temporary names).

use crate::error::{Error, Result};
use md5::{Digest, Md5};
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// Base URL of the GroupLens MovieLens downloads.
const GROUPLENS: &str = "https://files.grouplens.org/datasets/movielens";

/// Names accepted by [`known`], in the order they are listed in messages.
pub const KNOWN_NAMES: &[&str] = &["ml-100k", "ml-1m", "ml-25m", "ml-latest-small"];

/// A downloadable dataset: where to get it, how to check it, what it must unpack to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetSpec {
    /// Short name (e.g. `ml-100k`); names the temporary files in the target folder.
    pub name: String,
    /// URL of the zip file.
    pub url: String,
    /// Published MD5 of the zip, lowercase hex; `None` when the file changes over time
    /// (then only `expected_files` is checked).
    pub md5: Option<String>,
    /// Relative paths (`/`-separated) that must exist after unpacking, all inside one top
    /// folder, e.g. `ml-100k/u.data`. The top folder is what [`fetch`] returns.
    pub expected_files: Vec<String>,
}

impl DatasetSpec {
    /// The folder the zip unpacks to: the first component of the expected files, which
    /// must all share it and be plain relative paths.
    pub fn top_folder(&self) -> Result<&str> {
        let bad = |m: String| Error::Usage(format!("dataset `{}`: {m}", self.name));
        let first = self
            .expected_files
            .first()
            .ok_or_else(|| bad("no expected files".into()))?;
        let top = first.split('/').next().unwrap_or_default();
        for f in &self.expected_files {
            let parts: Vec<&str> = f.split('/').collect();
            if parts.len() < 2 || parts[0] != top || parts.iter().any(|p| !is_plain(p)) {
                return Err(bad(format!(
                    "expected file `{f}` must be a plain path inside the top folder `{top}/`"
                )));
            }
        }
        Ok(top)
    }
}

/// The spec of a known dataset (`ml-100k`, `ml-1m`, `ml-25m`, `ml-latest-small`), or
/// `None` for any other name.
pub fn known(name: &str) -> Option<DatasetSpec> {
    let (md5, files): (Option<&str>, &[&str]) = match name {
        "ml-100k" => (
            Some("0e33842e24a9c977be4e0107933c0723"),
            &["u.data", "u.item", "u.user"],
        ),
        "ml-1m" => (
            Some("c4d9eecfca2ab87c1945afe126590906"),
            &["ratings.dat", "users.dat", "movies.dat"],
        ),
        "ml-25m" => (
            Some("6b51fb2759a8657d3bfcbfc42b592ada"),
            &["ratings.csv", "movies.csv"],
        ),
        // Updated over time by GroupLens: no fixed checksum, check the contents instead.
        "ml-latest-small" => (None, &["ratings.csv", "movies.csv"]),
        _ => return None,
    };
    Some(DatasetSpec {
        name: name.to_string(),
        url: format!("{GROUPLENS}/{name}.zip"),
        md5: md5.map(str::to_string),
        expected_files: files.iter().map(|f| format!("{name}/{f}")).collect(),
    })
}

/// Like [`known`], but an unknown name is an [`Error::Usage`] listing the known names.
pub fn known_or_usage(name: &str) -> Result<DatasetSpec> {
    known(name).ok_or_else(|| {
        Error::Usage(format!(
            "unknown dataset `{name}`; known datasets: {}",
            KNOWN_NAMES.join(", ")
        ))
    })
}

/// The default download folder: `<user cache dir>/embedrec` (e.g. `~/.cache/embedrec`
/// on Linux), or `./.embedrec-cache` when the platform has no cache folder.
pub fn default_cache_dir() -> PathBuf {
    match dirs::cache_dir() {
        Some(d) => d.join("embedrec"),
        None => PathBuf::from(".embedrec-cache"),
    }
}

/// Downloads, checks and unpacks `spec` into `dir` (created if needed) and returns the
/// dataset folder `dir/<top folder>`.
///
/// When that folder already holds every expected file, it is returned without any
/// network access. When it exists but lacks some, that is an [`Error::BadInput`] (it is
/// not ours to overwrite). `on_progress` hears of every chunk received (bytes so far,
/// and the total when the server states it); nothing is printed. See the
/// [module docs](self) for the steps.
///
/// # Errors
/// - [`Error::Network`]: connection failure, HTTP error status or a broken transfer
///   (the message names the URL);
/// - [`Error::Checksum`]: the download does not match `spec.md5` (`file` names
///   `dir/<name>.zip`, the file the download would have become; it is not kept);
/// - [`Error::BadInput`]: not a zip, an unsafe entry (absolute path, `..`, symlink),
///   missing expected files;
/// - [`Error::Io`]: writing in `dir` failed;
/// - [`Error::Usage`]: a spec whose expected files are not inside one top folder.
///
/// In every error case nothing partial is left in `dir`.
pub fn fetch(spec: &DatasetSpec, dir: &Path, on_progress: &dyn Fn(Progress)) -> Result<PathBuf> {
    let top = spec.top_folder()?;
    let target = dir.join(top);
    if target.exists() {
        let missing = missing_files(dir, spec);
        if missing.is_empty() {
            return Ok(target);
        }
        return Err(Error::bad_input(
            &target,
            format!(
                "folder exists but lacks {}; remove it or fetch into another folder",
                missing.join(", ")
            ),
        ));
    }
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;

    let part = dir.join(format!("{}.zip.part", spec.name));
    let zip_path = dir.join(format!("{}.zip", spec.name));
    let actual = match download(&spec.url, &part, on_progress) {
        Ok(md5) => md5,
        Err(e) => {
            let _ = fs::remove_file(&part);
            return Err(e);
        }
    };
    if let Some(expected) = &spec.md5
        && !expected.eq_ignore_ascii_case(&actual)
    {
        let _ = fs::remove_file(&part);
        return Err(Error::Checksum {
            file: zip_path,
            expected: expected.clone(),
            actual,
        });
    }
    if let Err(e) = fs::rename(&part, &zip_path) {
        let _ = fs::remove_file(&part);
        return Err(Error::io(&zip_path, e));
    }

    let tmp = dir.join(format!(".{}.unpack-tmp", spec.name));
    let result = unpack_into(&zip_path, &tmp, spec)
        .and_then(|()| fs::rename(tmp.join(top), &target).map_err(|e| Error::io(&target, e)));
    let _ = fs::remove_dir_all(&tmp);
    let _ = fs::remove_file(&zip_path);
    result.map(|()| target)
}

/// The expected files of `spec` that are missing under `dir`.
fn missing_files(dir: &Path, spec: &DatasetSpec) -> Vec<String> {
    spec.expected_files
        .iter()
        .filter(|f| !dir.join(f).is_file())
        .cloned()
        .collect()
}

/// True for a path component that is neither empty, `.`, `..` nor drive-like.
fn is_plain(part: &str) -> bool {
    !part.is_empty() && part != "." && part != ".." && !part.contains(['\\', ':', '\0'])
}

/// Streams `url` into `part`, returning the MD5 (lowercase hex) of what was received.
fn download(url: &str, part: &Path, on_progress: &dyn Fn(Progress)) -> Result<String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        // Never pick up HTTP(S)_PROXY and friends from the environment.
        .proxy(None)
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        // A stalled transfer fails; a slow but moving one of a large file does not.
        .timeout_per_read(Some(Duration::from_secs(60)))
        .user_agent(concat!("embedrec/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let net = |what: String| Error::Network(format!("GET {url}: {what}"));
    let response = agent.get(url).call().map_err(|e| match e {
        ureq::Error::StatusCode(code) => net(format!("HTTP status {code}")),
        other => net(other.to_string()),
    })?;
    let body = response.into_body();
    let total = body.content_length();
    let mut received = 0u64;
    let mut reader = body.into_reader();

    let file = File::create(part).map_err(|e| Error::io(part, e))?;
    let mut out = BufWriter::with_capacity(1 << 16, file);
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(net(format!("reading the body: {e}"))),
        };
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|e| Error::io(part, e))?;
        received += n as u64;
        on_progress(Progress { received, total });
    }
    let file = out
        .into_inner()
        .map_err(|e| Error::io(part, e.into_error()))?;
    file.sync_all().map_err(|e| Error::io(part, e))?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// How far a download is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes received so far.
    pub received: u64,
    /// The size the server announced, if it did.
    pub total: Option<u64>,
}

/// Checks every entry name of `zip_path` first, then unpacks it into `tmp` (replaced if
/// left over from an interrupted run) and checks the expected files.
fn unpack_into(zip_path: &Path, tmp: &Path, spec: &DatasetSpec) -> Result<()> {
    let bad = |m: String| Error::bad_input(zip_path, m);
    let file = File::open(zip_path).map_err(|e| Error::io(zip_path, e))?;
    let mut archive = zip::ZipArchive::new(io::BufReader::new(file))
        .map_err(|e| bad(format!("not a zip: {e}")))?;

    let mut entries = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let entry = archive
            .by_index(i)
            .map_err(|e| bad(format!("entry {i}: {e}")))?;
        let name = entry
            .name()
            .map_err(|e| bad(format!("entry {i}: bad name: {e}")))?
            .into_owned();
        let rel = safe_relative(&name)
            .ok_or_else(|| bad(format!("unsafe entry `{name}` (absolute or `..` path)")))?;
        if entry.is_symlink() {
            return Err(bad(format!("entry `{name}` is a symbolic link")));
        }
        entries.push((rel, entry.is_dir()));
    }

    if tmp.exists() {
        fs::remove_dir_all(tmp).map_err(|e| Error::io(tmp, e))?;
    }
    fs::create_dir_all(tmp).map_err(|e| Error::io(tmp, e))?;
    for (i, (rel, is_dir)) in entries.into_iter().enumerate() {
        let path = tmp.join(&rel);
        if is_dir {
            fs::create_dir_all(&path).map_err(|e| Error::io(&path, e))?;
            continue;
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let mut entry = archive
            .by_index(i)
            .map_err(|e| bad(format!("entry {i}: {e}")))?;
        let mut out = BufWriter::new(File::create(&path).map_err(|e| Error::io(&path, e))?);
        io::copy(&mut entry, &mut out)
            .map_err(|e| bad(format!("entry `{}`: {e}", rel.display())))?;
        out.flush().map_err(|e| Error::io(&path, e))?;
    }

    let missing = missing_files(tmp, spec);
    if !missing.is_empty() {
        return Err(bad(format!("the archive lacks {}", missing.join(", "))));
    }
    Ok(())
}

/// The entry name as a relative path of plain components, or `None` when it is absolute,
/// has a `..` component, a drive prefix, a backslash or a NUL byte.
fn safe_relative(name: &str) -> Option<PathBuf> {
    if name.starts_with('/') || name.contains(['\\', '\0']) {
        return None;
    }
    let mut rel = PathBuf::new();
    for part in name.split('/') {
        match part {
            "" | "." => continue,
            ".." => return None,
            p if p.contains(':') => return None,
            p => rel.push(p),
        }
    }
    // Belt and braces: what we built must be made of normal components only.
    if rel.as_os_str().is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    Some(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_relative_rejects_escapes() {
        assert_eq!(safe_relative("a/b.csv"), Some(PathBuf::from("a/b.csv")));
        assert_eq!(safe_relative("a/./b/"), Some(PathBuf::from("a/b")));
        for bad in [
            "../evil",
            "a/../../evil",
            "a/../b",
            "/etc/passwd",
            "C:/x",
            "a\\..\\b",
            "",
        ] {
            assert_eq!(safe_relative(bad), None, "{bad}");
        }
    }

    #[test]
    fn known_specs_have_a_top_folder() {
        for name in KNOWN_NAMES {
            let spec = known(name).unwrap();
            assert_eq!(spec.top_folder().unwrap(), *name);
            assert!(spec.url.ends_with(&format!("/{name}.zip")));
        }
    }
}
