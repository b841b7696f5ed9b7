//! Interrupted saves: SIGINT and SIGTERM during an atomic write remove its temporary
//! file and end the process as interrupted; a later write to the folder removes the
//! temporary files that killed runs left behind.
//!
//! The interrupted process is this test binary run again on one test,
//! [`child_writes_slowly`], which starts an atomic write and stalls in the middle of it.
#![cfg(unix)]

mod common;
use common::TempDir;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Set in the child's environment: the folder to write into.
const CHILD_DIR: &str = "EMBEDREC_TEST_INTERRUPT_DIR";

/// In the child (only): writes `m.emb` there atomically, announcing through a
/// `started` file that the temporary file exists, then stalls until it is killed.
#[test]
fn child_writes_slowly() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let dir = Path::new(&dir);
    let _ = embedrec::store::write_atomically_with(&dir.join("m.emb"), |w| {
        w.write_all(&[7u8; 100_000])?;
        w.flush()?;
        std::fs::write(dir.join("started"), b"")?;
        std::thread::sleep(Duration::from_secs(60));
        Ok(())
    });
    panic!("the write was not interrupted");
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The slow writer as a child process, with SIGINT and SIGTERM at their default
/// disposition (a test run under `nohup` or in a background job inherits SIGINT
/// ignored, and embedrec leaves an ignored signal ignored).
fn slow_writer(dir: &Path) -> std::process::Child {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "child_writes_slowly", "--nocapture"])
        .env(CHILD_DIR, dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: only async-signal-safe calls (signal) between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
            Ok(())
        });
    }
    command.spawn().unwrap()
}

fn interrupt_a_write(sig: libc::c_int) {
    let dir = TempDir::new(&format!("interrupt-{sig}"));
    std::fs::write(dir.path("m.emb"), b"old").unwrap();
    let mut child = slow_writer(&dir.0);
    let start = Instant::now();
    while !dir.path("started").exists() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the child never started"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the child ended early: {status}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let tmp: Vec<String> = names(&dir.0)
        .into_iter()
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert_eq!(tmp.len(), 1, "one temporary file while writing: {tmp:?}");
    assert!(
        tmp[0].starts_with(&format!(".m.emb.embedrec-{}-", child.id())),
        "{tmp:?}"
    );
    // SAFETY: signals the child this test started.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, sig) }, 0);
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(sig), "ended by the signal: {status}");
    assert_eq!(names(&dir.0), ["m.emb", "started"], "temporary file left");
    assert_eq!(std::fs::read(dir.path("m.emb")).unwrap(), b"old");
}

#[test]
fn sigint_during_a_write_removes_the_temporary_file() {
    interrupt_a_write(libc::SIGINT);
}

#[test]
fn sigterm_during_a_write_removes_the_temporary_file() {
    interrupt_a_write(libc::SIGTERM);
}

#[test]
fn sigkill_leftovers_are_removed_by_the_next_write() {
    let dir = TempDir::new("interrupt-kill");
    let mut child = slow_writer(&dir.0);
    let start = Instant::now();
    while !dir.path("started").exists() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the child never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(names(&dir.0).len(), 2, "SIGKILL leaves the temporary file");
    // Files of other programs that look alike are kept.
    let foreign = [".m.emb.12345.tmp", "m.emb.embedrec-1-0.tmp", ".notes.txt"];
    for f in foreign {
        dir.write(f, "keep");
    }
    let sigint = || {
        // SAFETY: reads the current disposition only.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            assert_eq!(libc::sigaction(libc::SIGINT, std::ptr::null(), &mut old), 0);
            old.sa_sigaction
        }
    };
    let before = sigint();
    embedrec::store::write_atomically(&dir.path("other.csv"), b"new").unwrap();
    let mut want: Vec<String> = foreign.iter().map(|s| s.to_string()).collect();
    want.extend(["other.csv".into(), "started".into()]);
    want.sort();
    assert_eq!(names(&dir.0), want);
    // The write restored the disposition it replaced (the default, or ignored when the
    // test runs with SIGINT ignored).
    assert_eq!(sigint(), before);
}

/// `embedrec data synth` writes through the same atomic writes: temporary files of
/// killed embedrec runs in the folder are swept, and SIGTERM in the middle of writing
/// leaves no temporary file.
#[test]
fn data_synth_sweeps_leftovers_and_cleans_up_when_terminated() {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    let dir = TempDir::new("interrupt-synth");
    // A pid that is no longer running: a child that has exited.
    let mut gone = Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    let leftover = format!(".u.data.embedrec-{dead}-0.tmp");
    dir.write(&leftover, "left by a killed run");
    let bin = env!("CARGO_BIN_EXE_embedrec");
    let out = dir.0.to_str().unwrap();
    let small = [
        "data", "synth", "--out", out, "--users", "20", "--items", "15",
    ];
    let status = Command::new(bin)
        .args(small)
        .args(["--ratings", "100"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let tmp = |dir: &Path| -> Vec<String> {
        names(dir)
            .into_iter()
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    };
    assert_eq!(tmp(&dir.0), Vec::<String>::new(), "leftover not swept");

    let big = TempDir::new("interrupt-synth-big");
    let mut command = Command::new(bin);
    command
        .args(["data", "synth", "--out", big.0.to_str().unwrap()])
        .args(["--users", "5000", "--items", "2000", "--ratings", "4000000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: only async-signal-safe calls (signal) between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = command.spawn().unwrap();
    let start = Instant::now();
    let seen = loop {
        let t = tmp(&big.0);
        if !t.is_empty() {
            break t;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the synth ended before its temporary file was seen: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no temporary file"
        );
        std::thread::sleep(Duration::from_millis(1));
    };
    assert!(
        seen[0].starts_with(&format!(".u.data.embedrec-{}-", child.id())),
        "{seen:?}"
    );
    // SAFETY: signals the child this test started.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) },
        0
    );
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status}");
    assert_eq!(tmp(&big.0), Vec::<String>::new(), "temporary file left");
}
