//! `data::fetch` against a tiny local HTTP/1.1 server (never the network).

use embedrec::Error;
use embedrec::data::fetch::{self, DatasetSpec};
use md5::{Digest, Md5};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Cursor, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use zip::write::SimpleFileOptions;

/// A one-thread HTTP server on 127.0.0.1 serving fixed bodies by path, 404 otherwise.
struct Server {
    base: String,
    requests: Arc<AtomicUsize>,
}

impl Server {
    fn start(files: Vec<(&str, Vec<u8>)>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let files: HashMap<String, Vec<u8>> =
            files.into_iter().map(|(p, b)| (p.to_string(), b)).collect();
        // The thread lives until the test process ends.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = serve(stream, &files);
            }
        });
        Server { base, requests }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn serve(stream: TcpStream, files: &HashMap<String, Vec<u8>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
            break;
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("");
    let mut stream = stream;
    match files.get(path) {
        Some(body) => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            stream.write_all(body)?;
        }
        None => {
            let body = b"not found";
            write!(
                stream,
                "HTTP/1.1 404 Not Found\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            stream.write_all(body)?;
        }
    }
    stream.flush()
}

/// A deflated zip of `(name, contents)` entries, built with the zip crate.
fn make_zip(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, contents) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(contents.as_bytes()).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn test_zip() -> Vec<u8> {
    make_zip(&[
        (
            "ml-test/ratings.csv",
            "userId,movieId,rating,timestamp\n1,1,4.0,0\n",
        ),
        (
            "ml-test/movies.csv",
            "movieId,title,genres\n1,Toy Story (1995),Comedy\n",
        ),
        ("ml-test/README.txt", "test data\n"),
    ])
}

fn spec(url: String, md5: Option<String>) -> DatasetSpec {
    DatasetSpec {
        name: "ml-test".into(),
        url,
        md5,
        expected_files: vec!["ml-test/ratings.csv".into(), "ml-test/movies.csv".into()],
    }
}

/// A fresh, empty folder under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "embedrec-fetch-{tag}-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Names of the entries of `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

#[test]
fn correct_md5_unpacks_and_second_fetch_makes_no_request() {
    let bytes = test_zip();
    let server = Server::start(vec![("/ml-test.zip", bytes.clone())]);
    let tmp = TempDir::new("ok");
    // `dir` does not exist yet: fetch creates it.
    let dir = tmp.0.join("cache");
    let s = spec(server.url("/ml-test.zip"), Some(md5_hex(&bytes)));

    let last = std::cell::Cell::new(None);
    let out = fetch::fetch(&s, &dir, &|p| last.set(Some(p))).unwrap();
    assert_eq!(out, dir.join("ml-test"));
    // The caller heard of the whole transfer.
    let n = bytes.len() as u64;
    assert_eq!(
        last.get(),
        Some(fetch::Progress {
            received: n,
            total: Some(n)
        })
    );
    assert_eq!(server.requests(), 1);
    assert!(out.join("ratings.csv").is_file());
    assert!(out.join("movies.csv").is_file());
    assert_eq!(
        std::fs::read_to_string(out.join("movies.csv")).unwrap(),
        "movieId,title,genres\n1,Toy Story (1995),Comedy\n"
    );
    // Only the dataset folder is left: no zip, no .part, no temp folder.
    assert_eq!(listing(&dir), vec!["ml-test".to_string()]);

    let again = fetch::fetch(&s, &dir, &|_| {}).unwrap();
    assert_eq!(again, out);
    assert_eq!(server.requests(), 1, "second fetch must not download");
}

#[test]
fn leftovers_of_an_interrupted_run_are_replaced() {
    let bytes = test_zip();
    let server = Server::start(vec![("/ml-test.zip", bytes.clone())]);
    let tmp = TempDir::new("leftovers");
    std::fs::write(tmp.0.join("ml-test.zip.part"), "stale").unwrap();
    std::fs::write(tmp.0.join("ml-test.zip"), "stale").unwrap();
    std::fs::create_dir_all(tmp.0.join(".ml-test.unpack-tmp/ml-test")).unwrap();
    std::fs::write(tmp.0.join(".ml-test.unpack-tmp/ml-test/junk"), "x").unwrap();
    let s = spec(server.url("/ml-test.zip"), Some(md5_hex(&bytes)));
    let out = fetch::fetch(&s, &tmp.0, &|_| {}).unwrap();
    assert!(out.join("ratings.csv").is_file());
    assert!(!out.join("junk").exists());
    assert_eq!(listing(&tmp.0), vec!["ml-test".to_string()]);
}

#[test]
fn no_md5_checks_expected_files_only() {
    let bytes = test_zip();
    let server = Server::start(vec![("/ml-test.zip", bytes)]);
    let tmp = TempDir::new("nomd5");
    let out = fetch::fetch(&spec(server.url("/ml-test.zip"), None), &tmp.0, &|_| {}).unwrap();
    assert!(out.join("ratings.csv").is_file());
    assert_eq!(listing(&tmp.0), vec!["ml-test".to_string()]);
}

#[test]
fn wrong_md5_is_checksum_error_and_leaves_nothing() {
    let bytes = test_zip();
    let actual = md5_hex(&bytes);
    let server = Server::start(vec![("/ml-test.zip", bytes)]);
    let tmp = TempDir::new("md5");
    let wrong = "0123456789abcdef0123456789abcdef".to_string();
    let err = fetch::fetch(
        &spec(server.url("/ml-test.zip"), Some(wrong.clone())),
        &tmp.0,
        &|_| {},
    )
    .unwrap_err();
    match &err {
        Error::Checksum {
            file,
            expected,
            actual: got,
        } => {
            assert_eq!(expected, &wrong);
            assert_eq!(got, &actual);
            assert_eq!(file, &tmp.0.join("ml-test.zip"));
        }
        other => panic!("expected a checksum error, got {other:?}"),
    }
    assert_eq!(err.exit_code(), 2);
    assert_eq!(listing(&tmp.0), Vec::<String>::new());
}

#[test]
fn http_404_is_network_error_and_leaves_nothing() {
    let server = Server::start(vec![]);
    let tmp = TempDir::new("404");
    let url = server.url("/missing.zip");
    let err = fetch::fetch(&spec(url.clone(), None), &tmp.0, &|_| {}).unwrap_err();
    match &err {
        Error::Network(msg) => {
            assert!(msg.contains(&url), "{msg}");
            assert!(msg.contains("404"), "{msg}");
        }
        other => panic!("expected a network error, got {other:?}"),
    }
    assert_eq!(err.exit_code(), 1);
    assert_eq!(server.requests(), 1);
    assert_eq!(listing(&tmp.0), Vec::<String>::new());
}

#[test]
fn connection_refused_is_network_error() {
    // Bind then drop a listener: nothing listens on that port any more.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tmp = TempDir::new("refused");
    let url = format!("http://127.0.0.1:{port}/ml-test.zip");
    let err = fetch::fetch(&spec(url.clone(), None), &tmp.0, &|_| {}).unwrap_err();
    match &err {
        Error::Network(msg) => assert!(msg.contains(&url), "{msg}"),
        other => panic!("expected a network error, got {other:?}"),
    }
    assert_eq!(listing(&tmp.0), Vec::<String>::new());
}

#[test]
fn zip_slip_is_rejected_and_nothing_written_outside() {
    let tmp = TempDir::new("slip");
    let dir = tmp.0.join("cache");
    for (i, evil) in ["../evil", "ml-test/../../evil", "/tmp/embedrec-evil-abs"]
        .iter()
        .enumerate()
    {
        let bytes = make_zip(&[
            ("ml-test/ratings.csv", "1,1,4,0\n"),
            ("ml-test/movies.csv", "1,x,y\n"),
            (evil, "pwned\n"),
        ]);
        let path = format!("/evil{i}.zip");
        let server = Server::start(vec![(path.as_str(), bytes.clone())]);
        let err = fetch::fetch(
            &spec(server.url(&path), Some(md5_hex(&bytes))),
            &dir,
            &|_| {},
        )
        .unwrap_err();
        match &err {
            Error::BadInput { message, .. } => {
                assert!(message.contains("unsafe entry"), "{evil}: {message}")
            }
            other => panic!("{evil}: expected BadInput, got {other:?}"),
        }
        assert_eq!(listing(&dir), Vec::<String>::new(), "{evil}");
        assert_eq!(listing(&tmp.0), vec!["cache".to_string()], "{evil}");
    }
    assert!(!Path::new("/tmp/embedrec-evil-abs").exists());
}

#[test]
fn zip_without_expected_files_is_bad_input_and_leaves_nothing() {
    let bytes = make_zip(&[("ml-test/ratings.csv", "1,1,4,0\n")]);
    let server = Server::start(vec![("/ml-test.zip", bytes.clone())]);
    let tmp = TempDir::new("lacks");
    let err = fetch::fetch(
        &spec(server.url("/ml-test.zip"), Some(md5_hex(&bytes))),
        &tmp.0,
        &|_| {},
    )
    .unwrap_err();
    match &err {
        Error::BadInput { message, .. } => assert!(message.contains("movies.csv"), "{message}"),
        other => panic!("expected BadInput, got {other:?}"),
    }
    assert_eq!(listing(&tmp.0), Vec::<String>::new());
}

#[test]
fn not_a_zip_is_bad_input_and_leaves_nothing() {
    let bytes = b"<html>this is not a zip</html>".to_vec();
    let server = Server::start(vec![("/ml-test.zip", bytes)]);
    let tmp = TempDir::new("notzip");
    let err = fetch::fetch(&spec(server.url("/ml-test.zip"), None), &tmp.0, &|_| {}).unwrap_err();
    assert!(matches!(err, Error::BadInput { .. }), "{err:?}");
    assert_eq!(listing(&tmp.0), Vec::<String>::new());
}

#[test]
fn incomplete_existing_folder_is_bad_input_without_request() {
    let server = Server::start(vec![("/ml-test.zip", test_zip())]);
    let tmp = TempDir::new("incomplete");
    std::fs::create_dir_all(tmp.0.join("ml-test")).unwrap();
    std::fs::write(tmp.0.join("ml-test/ratings.csv"), "mine\n").unwrap();
    let err = fetch::fetch(&spec(server.url("/ml-test.zip"), None), &tmp.0, &|_| {}).unwrap_err();
    assert!(matches!(err, Error::BadInput { .. }), "{err:?}");
    assert_eq!(server.requests(), 0);
    // The user's file is untouched.
    assert_eq!(
        std::fs::read_to_string(tmp.0.join("ml-test/ratings.csv")).unwrap(),
        "mine\n"
    );
}

#[test]
fn known_names_and_unknown_name() {
    let m = fetch::known("ml-100k").unwrap();
    assert_eq!(
        m.url,
        "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
    );
    assert_eq!(m.md5.as_deref(), Some("0e33842e24a9c977be4e0107933c0723"));
    assert_eq!(
        m.expected_files,
        ["ml-100k/u.data", "ml-100k/u.item", "ml-100k/u.user"]
    );
    let m = fetch::known("ml-1m").unwrap();
    assert_eq!(m.md5.as_deref(), Some("c4d9eecfca2ab87c1945afe126590906"));
    assert!(m.expected_files.contains(&"ml-1m/ratings.dat".to_string()));
    let m = fetch::known("ml-25m").unwrap();
    assert_eq!(m.md5.as_deref(), Some("6b51fb2759a8657d3bfcbfc42b592ada"));
    assert!(m.expected_files.contains(&"ml-25m/ratings.csv".to_string()));
    let m = fetch::known("ml-latest-small").unwrap();
    assert_eq!(m.md5, None);
    assert_eq!(
        m.expected_files,
        ["ml-latest-small/ratings.csv", "ml-latest-small/movies.csv"]
    );
    for name in fetch::KNOWN_NAMES {
        assert_eq!(fetch::known(name).unwrap().name, *name);
    }

    assert!(fetch::known("ml-2m").is_none());
    match fetch::known_or_usage("ml-2m") {
        Err(e @ Error::Usage(_)) => {
            let msg = e.to_string();
            assert!(msg.contains("ml-2m"), "{msg}");
            for name in fetch::KNOWN_NAMES {
                assert!(msg.contains(name), "{msg}");
            }
            assert_eq!(e.exit_code(), 2);
        }
        other => panic!("expected a usage error, got {other:?}"),
    }
}

#[test]
fn default_cache_dir_ends_in_embedrec() {
    let d = fetch::default_cache_dir();
    assert!(
        d.ends_with("embedrec") || d.ends_with(".embedrec-cache"),
        "{}",
        d.display()
    );
}

#[test]
fn truncated_body_is_network_error_and_leaves_nothing() {
    // Promises 1000 bytes, sends 10, closes.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/ml-test.zip", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                line.clear();
            }
            let mut stream = stream;
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n0123456789",
            );
        }
    });
    let tmp = TempDir::new("truncated");
    let err = fetch::fetch(&spec(url.clone(), None), &tmp.0, &|_| {}).unwrap_err();
    match &err {
        Error::Network(msg) => assert!(msg.contains(&url), "{msg}"),
        other => panic!("expected a network error, got {other:?}"),
    }
    assert_eq!(listing(&tmp.0), Vec::<String>::new());
}
