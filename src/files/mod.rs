//! Files as embedrec reads and writes them, below every module that touches the disk:
//! writes always atomic (a temporary file in the same folder, flushed to disk, then
//! renamed over the target), so a failed write loses nothing; reads of data and model
//! files refused unless the path is a regular file (a named pipe would block the reader).
//!
//! The temporary file (`.NAME.embedrec-PID-N.tmp`) is removed on failure, on SIGINT and
//! SIGTERM, and by a later write to the same folder when its process was killed (see
//! `temp.rs`).

mod temp;

use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// Opens `path` for reading, refused (an input error, exit 2) unless it is a regular
/// file: a folder, a named pipe (which would block the reader until written to), a
/// socket or a device is named as such. The file is opened without blocking and checked
/// once open, so it cannot be swapped between the check and the read; it is then set
/// back to blocking reads.
pub fn open_regular(path: &Path) -> Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a folder"
        } else {
            "a named pipe, socket or device"
        };
        return Err(Error::bad_input(
            path,
            format!("not a regular file ({what})"),
        ));
    }
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let fd = file.as_raw_fd();
        // SAFETY: fcntl on a descriptor this function owns and keeps open.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
            }
        }
    }
    Ok(file)
}

/// The bytes of the regular file at `path` ([`open_regular`]).
pub fn read_regular_file(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut file = open_regular(path)?;
    let len = file.metadata().map(|m| m.len() as usize).unwrap_or(0);
    let mut bytes = Vec::with_capacity(len);
    file.read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

/// Writes `bytes` to `path` atomically: readers see the old file or the new one, never
/// a partial one, and a failure, SIGINT or SIGTERM leaves no temporary file behind;
/// temporary files of killed embedrec runs in the folder are removed first.
///
/// ```
/// let path = std::env::temp_dir().join(format!("embedrec-doc-{}.txt", std::process::id()));
/// embedrec::files::write_atomically(&path, b"hello").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"hello");
/// std::fs::remove_file(&path).unwrap();
/// ```
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically_with(path, |w| w.write_all(bytes))
}

/// Like [`write_atomically`], with the content produced by `fill` on a buffered writer.
pub fn write_atomically_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    temp::remove_stale(path);
    let tmp = temp::temp_path(path);
    let _in_flight = temp::InFlight::register(&tmp);
    let result = (|| -> std::io::Result<()> {
        let file = std::fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::new(file);
        fill(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_old_file_and_no_temp() {
        let dir = std::env::temp_dir().join(format!("embedrec-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.txt");
        write_atomically(&path, b"old").unwrap();
        let err = write_atomically_with(&path, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "temp file left behind"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
