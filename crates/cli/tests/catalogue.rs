//! The remote catalogue as a user meets it: `plugboard search` and
//! `plugboard install ID --from URL` against an index.json and archives a
//! small HTTP server on 127.0.0.1 serves, started by each test. Every
//! download that is not what the index lists (a wrong digest, a body cut
//! short, one too large, a bad signature, a redirect to another scheme) is
//! refused with a message saying so, and nothing is installed.

#[allow(dead_code, reason = "each test file uses its own part of the helpers")]
mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};

use common::{example_manifest, plugin_folder, stderr, stdout};
use plugboard_test_artifacts::AUTO_TAG;
use sha2::Digest as _;

/// What the server answers for one path.
#[derive(Clone)]
struct Answer {
    status: u16,
    location: Option<String>,
    body: Vec<u8>,
    /// Send only this many bytes of the body (after announcing all of it).
    cut_after: Option<usize>,
    /// Send the body chunked, without a length.
    chunked: bool,
}

impl Answer {
    fn ok(body: Vec<u8>) -> Answer {
        Answer {
            status: 200,
            location: None,
            body,
            cut_after: None,
            chunked: false,
        }
    }

    fn redirect(to: &str) -> Answer {
        Answer {
            status: 302,
            location: Some(to.to_string()),
            ..Answer::ok(Vec::new())
        }
    }
}

type Routes = Arc<Mutex<HashMap<String, Answer>>>;

/// A tiny HTTP/1.1 server on 127.0.0.1, one connection at a time, each
/// closed after its answer; it lives as long as the test process.
struct Server {
    base: String,
    routes: Routes,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
        let base = format!("http://{}", listener.local_addr().expect("its address"));
        let routes = Routes::default();
        let served = routes.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let _ = answer(stream, &served);
            }
        });
        Server { base, routes }
    }

    fn route(&self, path: &str, answer: Answer) {
        self.routes.lock().unwrap().insert(path.to_string(), answer);
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

fn answer(mut stream: TcpStream, routes: &Routes) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
    }
    let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
    let found = routes.lock().unwrap().get(&path).cloned();
    let answer = found.unwrap_or(Answer {
        status: 404,
        ..Answer::ok(b"not here".to_vec())
    });
    let mut head = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", answer.status);
    if let Some(location) = &answer.location {
        head.push_str(&format!("Location: {location}\r\n"));
    }
    match answer.chunked {
        true => head.push_str("Transfer-Encoding: chunked\r\n\r\n"),
        false => head.push_str(&format!("Content-Length: {}\r\n\r\n", answer.body.len())),
    }
    stream.write_all(head.as_bytes())?;
    let body = &answer.body[..answer.cut_after.unwrap_or(answer.body.len())];
    if answer.chunked {
        for chunk in body.chunks(16 * 1024) {
            stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
            stream.write_all(chunk)?;
            stream.write_all(b"\r\n")?;
        }
        stream.write_all(b"0\r\n\r\n")?;
    } else {
        stream.write_all(body)?;
    }
    stream.flush()?;
    stream.shutdown(std::net::Shutdown::Both)
}

/// A temp dir with auto-tag packed into `dist/`; returns it with the
/// archive's bytes.
fn packed_auto_tag() -> (tempfile::TempDir, Vec<u8>) {
    let root = tempfile::tempdir().expect("temp dir");
    plugin_folder(root.path(), "auto-tag", &example_manifest("auto-tag"), AUTO_TAG);
    let out = common::plugboard_ok(root.path(), &["pack", "plugins/auto-tag", "--out", "dist"]);
    let bytes = std::fs::read(root.path().join(out.trim())).expect("the archive");
    (root, bytes)
}

/// An index.json listing `archive` as auto-tag 0.1.0 with `digest`.
fn index_json(digest: &str, signer: Option<&str>) -> Vec<u8> {
    serde_json::json!({
        "plugins": [{
            "id": "auto-tag",
            "version": "0.1.0",
            "api": "task-events@2",
            "digest": digest,
            "signer": signer,
            "file": "auto-tag-0.1.0.plugin",
        }]
    })
    .to_string()
    .into_bytes()
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Runs `plugboard` with no proxy from the environment in the way.
fn plugboard(root: &Path, args: &[&str]) -> Output {
    let mut all: Vec<&str> = args.to_vec();
    all.extend([
        "--config-dir",
        "config",
        "--data-dir",
        "data",
        "--plugins-dir",
        "installed",
    ]);
    let mut command = common::command(root);
    for proxy in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        command.env_remove(proxy);
    }
    command.args(&all).output().expect("the plugboard binary runs")
}

/// Runs `install auto-tag --from URL --yes` (and `extra`), insisting that it
/// fails and installs nothing; returns stderr.
fn install_fails(root: &Path, from: &str, extra: &[&str]) -> String {
    let mut args = vec!["install", "auto-tag", "--from", from, "--yes"];
    args.extend_from_slice(extra);
    let output = plugboard(root, &args);
    let err = stderr(&output);
    assert!(
        !output.status.success(),
        "the install should fail:\n{}\n{err}",
        stdout(&output)
    );
    assert!(
        !root.join("installed/auto-tag").exists(),
        "nothing is installed:\n{err}"
    );
    err
}

#[test]
fn search_and_install_from_a_url_download_check_and_install_the_listed_archive() {
    let (root, archive) = packed_auto_tag();
    let root = root.path();
    let server = Server::start();
    server.route("/cat/index.json", Answer::ok(index_json(&sha256(&archive), None)));
    // The archive is one redirect away, on the same scheme.
    server.route("/cat/auto-tag-0.1.0.plugin", Answer::redirect("/blobs/1"));
    server.route("/blobs/1", Answer::ok(archive));

    let output = plugboard(root, &["search", "TAG", "--from", &server.url("/cat")]);
    let out = stdout(&output);
    assert!(output.status.success(), "{out}\n{}", stderr(&output));
    assert!(out.contains("1 archive(s) match \"TAG\""), "{out}");
    assert!(out.contains("  auto-tag  0.1.0  task-events@2  unsigned"), "{out}");
    let output = plugboard(root, &["search", "nothing", "--from", &server.url("/cat/index.json")]);
    assert!(!output.status.success());
    assert!(stdout(&output).contains("0 archive(s) match"), "{}", stdout(&output));

    let output = plugboard(
        root,
        &["install", "auto-tag@^0.1", "--from", &server.url("/cat/"), "--yes"],
    );
    let out = stdout(&output);
    assert!(output.status.success(), "{out}\n{}", stderr(&output));
    assert!(
        out.contains(&format!(
            "From {}: auto-tag 0.1.0 (auto-tag-0.1.0.plugin)",
            server.url("/cat/index.json")
        )),
        "{out}"
    );
    assert!(out.contains("Installed auto-tag 0.1.0"), "{out}");
    assert!(root.join("installed/auto-tag/plugin.toml").is_file());
}

#[test]
fn an_archive_whose_sha256_is_not_the_listed_one_is_refused() {
    let (root, archive) = packed_auto_tag();
    let server = Server::start();
    server.route("/index.json", Answer::ok(index_json(&"ab".repeat(32), None)));
    server.route("/auto-tag-0.1.0.plugin", Answer::ok(archive.clone()));
    let err = install_fails(root.path(), &server.base, &[]);
    assert!(
        err.contains(&format!("its sha256 is {}", sha256(&archive)))
            && err.contains(&format!("lists {}", "ab".repeat(32)))
            && err.contains("nothing was installed"),
        "{err}"
    );
}

#[test]
fn a_download_cut_short_is_refused() {
    let (root, archive) = packed_auto_tag();
    let server = Server::start();
    server.route("/index.json", Answer::ok(index_json(&sha256(&archive), None)));
    let half = archive.len() / 2;
    server.route(
        "/auto-tag-0.1.0.plugin",
        Answer {
            cut_after: Some(half),
            ..Answer::ok(archive.clone())
        },
    );
    let err = install_fails(root.path(), &server.base, &[]);
    assert!(
        err.contains("the download broke off after") && err.contains(&format!("of {} bytes", archive.len())),
        "{err}"
    );
}

#[test]
fn a_download_larger_than_the_cap_is_refused_whether_or_not_its_length_is_announced() {
    let (root, archive) = packed_auto_tag();
    let root = root.path();
    let server = Server::start();
    server.route("/index.json", Answer::ok(index_json(&sha256(&archive), None)));
    server.route("/auto-tag-0.1.0.plugin", Answer::ok(archive.clone()));
    let err = install_fails(root, &server.base, &["--max-size", "1KiB"]);
    assert!(err.contains("more than the 1KiB a download may be"), "{err}");

    server.route(
        "/auto-tag-0.1.0.plugin",
        Answer {
            chunked: true,
            ..Answer::ok(archive)
        },
    );
    let err = install_fails(root, &server.base, &["--max-size", "1KiB"]);
    assert!(err.contains("is longer than the 1KiB a download may be"), "{err}");

    // An index is capped too (4 MiB).
    server.route("/big/index.json", Answer::ok(vec![b' '; 5 << 20]));
    let err = install_fails(root, &server.url("/big/"), &[]);
    assert!(err.contains("more than the 4MiB a download may be"), "{err}");
}

#[test]
fn an_archive_with_a_bad_signature_is_refused_as_a_local_one_is() {
    let (root, archive) = packed_auto_tag();
    let root = root.path();
    let keygen = plugboard(root, &["keygen", "--out", "keys"]);
    assert!(keygen.status.success(), "{}", stderr(&keygen));
    let key_id = stdout(&keygen).trim().to_string();
    std::fs::create_dir_all(root.join("config/trusted-keys")).unwrap();
    std::fs::copy(
        root.join(format!("keys/{key_id}.pub")),
        root.join(format!("config/trusted-keys/{key_id}.pub")),
    )
    .unwrap();
    let path = root.join("dist/auto-tag-0.1.0.plugin");
    std::fs::write(&path, &archive).unwrap();
    let signed = plugboard(
        root,
        &[
            "sign",
            "dist/auto-tag-0.1.0.plugin",
            "--key",
            &format!("keys/{key_id}.secret"),
        ],
    );
    assert!(signed.status.success(), "{}", stderr(&signed));
    let tampered = with_signature_flipped(&path);

    let server = Server::start();
    server.route("/index.json", Answer::ok(index_json(&sha256(&tampered), Some(&key_id))));
    server.route("/auto-tag-0.1.0.plugin", Answer::ok(tampered.clone()));
    let err = install_fails(root, &server.base, &[]);
    assert!(err.contains("signature"), "{err}");
    // `verify` refuses the same bytes on disk for the same reason.
    std::fs::write(root.join("tampered.plugin"), &tampered).unwrap();
    let local = plugboard(root, &["verify", "tampered.plugin"]);
    assert!(!local.status.success());
    let why = |text: &str| {
        text.lines()
            .last()
            .unwrap_or_default()
            .rsplit(": ")
            .next()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(why(&err), why(&stderr(&local)), "{err}\n{}", stderr(&local));
}

#[test]
fn a_redirect_to_another_scheme_is_refused() {
    let (root, archive) = packed_auto_tag();
    let server = Server::start();
    let https = server.url("/index.json").replacen("http://", "https://", 1);
    server.route("/index.json", Answer::redirect(&https));
    server.route("/auto-tag-0.1.0.plugin", Answer::ok(archive));
    let err = install_fails(root.path(), &server.base, &[]);
    assert!(
        err.contains(&format!("redirects to {https}, another scheme than http")),
        "{err}"
    );

    // More than three redirects are not followed either.
    for hop in 0..4 {
        server.route(
            &format!("/hop{hop}/index.json"),
            Answer::redirect(&format!("/hop{}/index.json", hop + 1)),
        );
    }
    let err = install_fails(root.path(), &server.url("/hop0/"), &[]);
    assert!(err.contains("more than 3 redirects"), "{err}");
}

/// The archive at `path` with one hex digit of its signature changed.
fn with_signature_flipped(path: &Path) -> Vec<u8> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut entries = Vec::new();
    for index in 0..zip.len() {
        let mut file = zip.by_index(index).unwrap();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        entries.push((file.name().expect("name").into_owned(), bytes));
    }
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, mut bytes) in entries {
        if name == "plugboard/signature" {
            let last = bytes.iter().rposition(u8::is_ascii_hexdigit).expect("a hex signature");
            bytes[last] = if bytes[last] == b'0' { b'1' } else { b'0' };
        }
        out.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&bytes).unwrap();
    }
    out.finish().unwrap().into_inner()
}
