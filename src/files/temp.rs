//! The temporary files of atomic writes: names no other program uses, removal when the
//! process is interrupted, and removal of those left behind by killed runs.
//!
//! A temporary file is named `.NAME.embedrec-PID-N.tmp` beside the target `NAME` (`PID`
//! the writing process, `N` a per-process counter).
//!
//! - While a write is in flight its temporary path is registered; SIGINT and SIGTERM
//!   (when their disposition is the default one: a handler someone else installed, e.g.
//!   Python's or tokio's, is left alone, as is an ignored signal) then run a handler that
//!   unlinks every registered path and re-raises the signal with the default action, so
//!   the process ends as interrupted (exit status 130 / 143 in a shell). The previous
//!   dispositions are restored when no write is in flight any more.
//! - Before a write, the target's folder is swept: a file named as above whose `PID` is
//!   not a running process (a run killed by SIGKILL or a power cut) is removed. Files of
//!   live processes, of this process and every other name are never touched.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The mark between the target's name and the owner's pid.
const MARK: &str = ".embedrec-";

/// A fresh temporary path for a write to `path`.
pub(super) fn temp_path(path: &Path) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = N.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}{MARK}{}-{n}.tmp", std::process::id()))
}

/// The pid in a file name made by [`temp_path`], or `None` for any other name.
fn owner_pid(file_name: &str) -> Option<u32> {
    let rest = file_name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let at = rest.rfind(MARK).filter(|&at| at > 0)?;
    let (pid, n) = rest[at + MARK.len()..].split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(pid) && digits(n)) {
        return None;
    }
    pid.parse().ok()
}

/// False only when no process `pid` exists (a process of another user counts as alive).
fn is_running(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return true;
        };
        if pid <= 0 {
            return true;
        }
        // SAFETY: signal 0 only checks that the process exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0;
        alive || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// Removes the temporary files that dead embedrec processes left in the folder of
/// `path`. Best effort: errors are ignored.
pub(super) fn remove_stale(path: &Path) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let me = std::process::id();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(owner_pid) else {
            continue;
        };
        if pid != me && !is_running(pid) && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// A registered temporary path: removed by the SIGINT / SIGTERM handler while this
/// lives.
pub(super) struct InFlight {
    #[cfg(unix)]
    slot: Option<usize>,
}

impl InFlight {
    /// Registers `tmp` (before the file is created).
    pub(super) fn register(tmp: &Path) -> InFlight {
        #[cfg(unix)]
        {
            InFlight {
                slot: signals::register(tmp),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tmp;
            InFlight {}
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        #[cfg(unix)]
        signals::unregister(self.slot);
    }
}

#[cfg(unix)]
mod signals {
    use std::ffi::{CString, c_char, c_int};
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;
    use std::ptr::null_mut;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicPtr, Ordering};

    /// Registered paths (NUL-terminated), read by the handler. A path's memory is never
    /// freed (a few bytes a write), so that the handler, running on any thread at any
    /// moment, can never read freed memory.
    static SLOTS: [AtomicPtr<c_char>; 64] = [const { AtomicPtr::new(null_mut()) }; 64];

    const SIGNALS: [c_int; 2] = [libc::SIGINT, libc::SIGTERM];

    /// Writes in flight, and the dispositions replaced while there are any.
    struct Installed {
        in_flight: usize,
        previous: [Option<libc::sigaction>; 2],
    }

    static INSTALLED: Mutex<Installed> = Mutex::new(Installed {
        in_flight: 0,
        previous: [None, None],
    });

    /// Unlinks every registered path, then ends the process by the signal's default
    /// action. Only async-signal-safe calls.
    extern "C" fn on_signal(sig: c_int) {
        for slot in &SLOTS {
            let p = slot.load(Ordering::SeqCst);
            if !p.is_null() {
                // SAFETY: `p` is a NUL-terminated string that is never freed.
                unsafe { libc::unlink(p) };
            }
        }
        // SAFETY: restoring the default action and re-raising: the signal stays blocked
        // until this handler returns, then ends the process.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        }
    }

    pub(super) fn register(tmp: &Path) -> Option<usize> {
        let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
        if installed.in_flight == 0 {
            for (k, &sig) in SIGNALS.iter().enumerate() {
                installed.previous[k] = install(sig);
            }
        }
        installed.in_flight += 1;
        drop(installed);
        let path = CString::new(tmp.as_os_str().as_bytes()).ok()?.into_raw();
        let slot = SLOTS.iter().position(|s| {
            s.compare_exchange(null_mut(), path, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        });
        if slot.is_none() {
            // More writes in flight than slots: this one is only swept later.
            // SAFETY: `path` came from `into_raw` and was never shared.
            drop(unsafe { CString::from_raw(path) });
        }
        slot
    }

    pub(super) fn unregister(slot: Option<usize>) {
        if let Some(k) = slot {
            // The string is leaked on purpose (see `SLOTS`).
            SLOTS[k].store(null_mut(), Ordering::SeqCst);
        }
        let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
        installed.in_flight -= 1;
        if installed.in_flight == 0 {
            for (k, &sig) in SIGNALS.iter().enumerate() {
                if let Some(previous) = installed.previous[k].take() {
                    // SAFETY: puts back the disposition `install` replaced.
                    unsafe { libc::sigaction(sig, &previous, null_mut()) };
                }
            }
        }
    }

    /// Installs [`on_signal`] for `sig` when its disposition is the default one;
    /// returns the replaced disposition.
    fn install(sig: c_int) -> Option<libc::sigaction> {
        // SAFETY: plain sigaction calls on zero-initialised structs.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) != 0
                || old.sa_sigaction != libc::SIG_DFL
            {
                return None;
            }
            let mut new: libc::sigaction = std::mem::zeroed();
            new.sa_sigaction = on_signal as extern "C" fn(c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut new.sa_mask);
            new.sa_flags = libc::SA_RESTART;
            (libc::sigaction(sig, &new, &mut old) == 0).then_some(old)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_recognised_and_nothing_else() {
        let p = temp_path(Path::new("dir/m.emb"));
        let name = p.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with(".m.emb.embedrec-"), "{name}");
        assert_eq!(owner_pid(name), Some(std::process::id()));
        assert_ne!(p, temp_path(Path::new("dir/m.emb")), "fresh each time");
        assert_eq!(owner_pid(".a.b.embedrec-12-0.tmp"), Some(12));
        for other in [
            ".m.emb.123.tmp",
            "m.emb.embedrec-12-0.tmp",
            "..embedrec-12-0.tmp",
            ".m.embedrec-12-0.tmp.x",
            ".m.embedrec-12.tmp",
            ".m.embedrec-x-0.tmp",
            ".m.embedrec-12-0-1.tmp",
            ".m.embedrec--0.tmp",
        ] {
            assert_eq!(owner_pid(other), None, "{other}");
        }
    }

    #[test]
    fn sweep_removes_only_dead_processes_files() {
        let dir = std::env::temp_dir().join(format!("embedrec-sweep-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // A pid that certainly ran and ended.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let live = std::process::id();
        let files = [
            (format!(".m.emb.embedrec-{dead}-0.tmp"), false),
            (format!(".other.csv.embedrec-{dead}-7.tmp"), false),
            (format!(".m.emb.embedrec-{live}-0.tmp"), true),
            (".m.emb.embedrec-1-0.tmp".to_string(), true),
            (format!(".m.emb.{dead}.tmp"), true),
            (format!("m.emb.embedrec-{dead}-0.tmp"), true),
            ("m.emb".to_string(), true),
        ];
        for (name, _) in &files {
            std::fs::write(dir.join(name), b"x").unwrap();
        }
        remove_stale(&dir.join("m.emb"));
        for (name, kept) in &files {
            assert_eq!(dir.join(name).exists(), *kept, "{name}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
