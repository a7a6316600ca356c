//! `plugboard console` driven as a user drives it, on a terminal (a pty
//! this test opens): attached to a running `plugboard serve`, it lists the
//! plugins, runs a plugin's command, sends an event and shows the log line
//! the plugin writes for it while the prompt waits; `plugboard stats` reads
//! the same server's metrics. The control socket is private to the user
//! and bounded.

#[allow(dead_code, reason = "each test file uses its own part of the helpers")]
mod common;

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use plugboard_test_artifacts::CONFORMANCE_V2;

/// A `plugboard` process on the slave side of a pty, and everything it
/// wrote to the terminal.
struct Terminal {
    master: File,
    child: Child,
    screen: Arc<Mutex<String>>,
    /// How much of the screen earlier expectations used up.
    read_to: usize,
}

/// Opens a pty pair: the master, and the slave's path.
fn open_pty() -> (File, String) {
    use std::os::fd::FromRawFd as _;
    // SAFETY: plain libc calls on the fd they return; the name buffer is
    // large enough and NUL-terminated by ptsname_r on success.
    unsafe {
        let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(master >= 0, "posix_openpt: {}", std::io::Error::last_os_error());
        assert_eq!(libc::grantpt(master), 0, "grantpt");
        assert_eq!(libc::unlockpt(master), 0, "unlockpt");
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(master, name.as_mut_ptr(), name.len()), 0, "ptsname_r");
        let size = libc::winsize {
            ws_row: 50,
            ws_col: 250,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        libc::ioctl(master, libc::TIOCSWINSZ, &size);
        let path = std::ffi::CStr::from_ptr(name.as_ptr()).to_string_lossy().into_owned();
        (File::from_raw_fd(master), path)
    }
}

/// The screen without colour and cursor codes.
fn plain(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // Parameters, then one final byte in @..~.
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            continue;
        }
        if c != '\r' {
            out.push(c);
        }
    }
    out
}

impl Terminal {
    fn start(root: &Path, args: &[&str]) -> Terminal {
        let (master, slave) = open_pty();
        let tty = || {
            File::options()
                .read(true)
                .write(true)
                .open(&slave)
                .expect("the pty's slave opens")
        };
        let mut command = common::command(root);
        command
            .args(args)
            .args([
                "--config-dir",
                "config",
                "--data-dir",
                "data",
                "--plugins-dir",
                "installed",
            ])
            .env("TERM", "xterm")
            .stdin(Stdio::from(tty()))
            .stdout(Stdio::from(tty()))
            .stderr(Stdio::from(tty()));
        // SAFETY: setsid is async-signal-safe and only detaches the child
        // from this test's session, so the pty is its terminal alone.
        unsafe {
            command.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let child = command.spawn().expect("plugboard starts on the pty");
        let screen = Arc::new(Mutex::new(String::new()));
        let mut reader = master.try_clone().unwrap();
        let written = screen.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            // Ends when the child's side of the pty closes (EIO).
            while let Ok(n @ 1..) = reader.read(&mut buffer) {
                written.lock().unwrap().push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        Terminal {
            master,
            child,
            screen,
            read_to: 0,
        }
    }

    /// Waits until `what` shows on the screen after what earlier calls
    /// saw; returns the screen from there to the end of `what`.
    fn expect(&mut self, what: &str, limit: Duration) -> String {
        let start = Instant::now();
        loop {
            let screen = plain(&self.screen.lock().unwrap());
            if let Some(at) = screen[self.read_to.min(screen.len())..].find(what) {
                let from = self.read_to;
                self.read_to = from + at + what.len();
                return screen[from..self.read_to].to_string();
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                panic!("`{what}` did not show within {limit:?}; the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types a line and Enter.
    fn type_line(&mut self, line: &str) {
        self.master.write_all(line.as_bytes()).unwrap();
        self.master.write_all(b"\r").unwrap();
        self.master.flush().unwrap();
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `plugboard serve` on the plugin folders in `root/plugins`.
struct Serve(Child);

impl Serve {
    fn start(root: &Path) -> Serve {
        let mut child = common::command(root)
            .args(["serve", "--plugins", "plugins", "--trust-manifests"])
            .args([
                "--config-dir",
                "config",
                "--data-dir",
                "data",
                "--plugins-dir",
                "installed",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("plugboard serve starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let start = Instant::now();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.starts_with("control socket ") => break,
                Some(Ok(_)) => {}
                _ => panic!("serve stopped before its control socket was up"),
            }
            assert!(start.elapsed() < Duration::from_secs(120), "serve did not start");
        }
        // The rest of its output is not read: drain it so it never blocks.
        std::thread::spawn(move || for _ in lines {});
        Serve(child)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        // SAFETY: kill only signals the child this test started.
        unsafe { libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.0.wait();
    }
}

/// The conformance fixture (it offers the `echo` command) as a plugin
/// folder, with its resources and locales.
fn fixture(root: &Path) {
    let source = plugboard_test_artifacts::repo_root().join("tests/fixtures/conformance-v2");
    let manifest = std::fs::read_to_string(source.join("plugin.toml")).unwrap();
    common::plugin_folder(root, "conformance-v2", &manifest, CONFORMANCE_V2);
    for sub in ["resources", "locales"] {
        copy_tree(&source.join(sub), &root.join("plugins/conformance-v2").join(sub));
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn the_console_on_a_running_serve_lists_plugins_runs_a_command_and_tails_a_plugins_log() {
    let root = tempfile::tempdir().unwrap();
    fixture(root.path());
    let _serve = Serve::start(root.path());
    let mut console = Terminal::start(root.path(), &["console"]);
    console.expect("connected to the plugboard serve", Duration::from_secs(30));
    console.expect("plugboard> ", Duration::from_secs(10));

    // Each answer is waited for by what it says: a log line may arrive
    // and redraw the prompt at any time.
    console.type_line("plugins");
    let listed = console.expect("loaded, ", Duration::from_secs(30));
    let row = listed
        .lines()
        .find(|l| l.starts_with("conformance-v2 "))
        .unwrap_or_else(|| panic!("no row for the plugin:\n{listed}"));
    assert!(row.contains("0.1.0") && row.contains("2."), "version and world: {row}");

    console.type_line("run conformance-v2.echo hello console");
    // The answer starts its line; the typed line holds the words after `echo `.
    console.expect("\nhello console\n", Duration::from_secs(60));

    // The fixture logs every custom event it receives: the line comes
    // through the live tail, not as the answer to the request.
    console.type_line(r#"emit greeting {"from": "test"}"#);
    let tailed = console.expect(r#"payload={"from": "test"}"#, Duration::from_secs(60));
    assert!(
        tailed.contains("[conformance-v2] info custom topic=greeting source=console"),
        "the log line, with its plugin and level:\n{tailed}"
    );

    console.type_line("grants conformance-v2");
    console.expect(
        "conformance-v2: tasks.read, tasks.write, tasks.delete",
        Duration::from_secs(30),
    );

    // The event started the plugin: its lifecycle.health is asked, and
    // the list shows it for a running plugin.
    console.type_line("health conformance-v2");
    console.expect(
        "conformance-v2: healthy: healthy, 0 instance events",
        Duration::from_secs(30),
    );
    console.type_line("plugins");
    let listed = console.expect("instance events", Duration::from_secs(30));
    let row = listed
        .lines()
        .find(|l| l.starts_with("conformance-v2 "))
        .unwrap_or_else(|| panic!("no row for the plugin:\n{listed}"));
    assert!(
        row.contains("loaded, running") && row.ends_with("healthy: healthy, 0 instance events"),
        "a running plugin's health: {row}"
    );
    console.type_line("health nobody");
    console.expect("error: no plugin `nobody` is loaded", Duration::from_secs(10));

    console.type_line("frobnicate");
    console.expect("unknown command `frobnicate`", Duration::from_secs(10));

    console.type_line("reload conformance-v2");
    console.expect(
        "reload: conformance-v2 0.1.0 -> 0.1.0 swapped in",
        Duration::from_secs(120),
    );
    console.type_line("reload nobody");
    console.expect("error: no plugin `nobody` is loaded", Duration::from_secs(10));

    console.type_line("quit");
    let start = Instant::now();
    while console.child.try_wait().unwrap().is_none() {
        assert!(start.elapsed() < Duration::from_secs(10), "the console did not quit");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        std::fs::read_to_string(root.path().join("data/console-history"))
            .unwrap()
            .contains("run conformance-v2.echo hello console"),
        "the history is kept"
    );

    // `plugboard stats` on the same server: the event and the command count.
    let out = common::plugboard_ok(root.path(), &["stats"]);
    let row: Vec<&str> = out
        .lines()
        .find(|l| l.starts_with("conformance-v2 "))
        .unwrap_or_else(|| panic!("no row:\n{out}"))
        .split_whitespace()
        .collect();
    assert_eq!(
        (row[1], row[2]),
        ("1", "1"),
        "one event handled, one command run:\n{out}"
    );
}

#[test]
fn the_control_socket_is_private_bounded_and_says_why_it_refuses() {
    let root = tempfile::tempdir().unwrap();
    fixture(root.path());
    let _serve = Serve::start(root.path());
    let path = root.path().join("data/control.sock");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "only its user may connect");

    let ask = |stream: &mut UnixStream, line: &[u8]| -> String {
        stream.write_all(line).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        loop {
            let mut answer = String::new();
            assert!(reader.read_line(&mut answer).unwrap() > 0, "an answer");
            if answer.starts_with("{\"reply\"") {
                return answer;
            }
        }
    };
    let mut stream = UnixStream::connect(&path).unwrap();
    let answer = ask(&mut stream, b"{\"op\": \"erase\"}\n");
    assert!(
        answer.contains("\"ok\":false") && answer.contains("not a request"),
        "{answer}"
    );
    let answer = ask(
        &mut stream,
        b"{\"op\": \"emit\", \"topic\": \"t\", \"payload\": \"not json\"}\n",
    );
    assert!(answer.contains("the payload is not JSON"), "{answer}");
    let answer = ask(
        &mut stream,
        b"{\"op\": \"run\", \"plugin\": \"nobody\", \"command\": \"x\"}\n",
    );
    assert!(answer.contains("no plugin `nobody` is loaded"), "{answer}");

    let mut long = vec![b'x'; 200 * 1024];
    long.push(b'\n');
    let answer = ask(&mut stream, &long[..70 * 1024]);
    assert!(answer.contains("longer than 65536 bytes"), "{answer}");

    // That connection was closed; eight at once are served, and the ninth
    // is told why not.
    drop(stream);
    std::thread::sleep(Duration::from_millis(300));
    let held: Vec<UnixStream> = (0..8)
        .map(|_| {
            let mut s = UnixStream::connect(&path).unwrap();
            assert!(ask(&mut s, b"{\"op\": \"stats\"}\n").contains("\"ok\":true"));
            s
        })
        .collect();
    let mut ninth = UnixStream::connect(&path).unwrap();
    ninth.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut answer = String::new();
    BufReader::new(&mut ninth).read_line(&mut answer).unwrap();
    assert!(answer.contains("8 consoles are connected already"), "{answer}");
    drop(held);

    // A second serve on the same data folder is refused.
    let second = common::plugboard(root.path(), &["serve", "--plugins", "plugins", "--trust-manifests"]);
    let error = common::stderr(&second);
    assert!(
        !second.status.success() && error.contains("another plugboard serve is running"),
        "{error}"
    );
}

#[test]
fn stats_without_a_running_serve_says_how_to_get_metrics() {
    let root = tempfile::tempdir().unwrap();
    let error = common::plugboard_fails(root.path(), &["stats"]);
    assert!(
        error.contains("no plugboard serve runs on") && error.contains("plugboard run --stats"),
        "{error}"
    );
}

#[test]
fn with_no_serve_running_the_console_hosts_the_plugins_itself() {
    let root = tempfile::tempdir().unwrap();
    fixture(root.path());
    let mut console = Terminal::start(root.path(), &["console", "--plugins", "plugins", "--trust-manifests"]);
    console.expect("no plugboard serve runs on data", Duration::from_secs(120));
    console.expect("plugboard> ", Duration::from_secs(10));
    console.type_line("run conformance-v2.echo own host");
    console.expect("\nown host\n", Duration::from_secs(60));
    console.type_line(r#"emit local {"n": 1}"#);
    console.expect(
        r#"[conformance-v2] info custom topic=local source=console payload={"n": 1}"#,
        Duration::from_secs(60),
    );
    console.type_line("stats");
    let table = console.expect("\nconformance-v2 ", Duration::from_secs(30));
    assert!(table.contains("PLUGIN"), "{table}");
    assert!(
        !root.path().join("data/control.sock").exists(),
        "a console's own host serves no socket"
    );
}

#[test]
fn list_with_health_starts_the_plugins_and_shows_how_each_says_it_is() {
    let root = tempfile::tempdir().unwrap();
    fixture(root.path());
    let compat = plugboard_test_artifacts::repo_root().join("tests/fixtures/compat-v2-1/plugin.toml");
    common::plugin_folder(
        root.path(),
        "compat-v2-1",
        &std::fs::read_to_string(compat).unwrap(),
        plugboard_test_artifacts::COMPAT_V2_1,
    );
    let row = |out: &str, id: &str| -> String {
        out.lines()
            .find(|l| l.trim_start().starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("no row for {id}:\n{out}"))
            .to_string()
    };
    // Without the flag nothing is started, and no health is shown.
    let plain = common::plugboard_ok(root.path(), &["list", "--plugins", "plugins"]);
    assert!(!plain.contains("health"), "{plain}");
    let out = common::plugboard_ok(root.path(), &["list", "--plugins", "plugins", "--health"]);
    assert!(
        row(&out, "conformance-v2").ends_with("UNHEALTHY: it was granted nothing of what its manifest requests, so none of its code runs (grant it what it needs, e.g. `plugboard grant ID --all-requested`)"),
        "an ungranted plugin is not started:\n{out}"
    );
    for id in ["conformance-v2", "compat-v2-1"] {
        common::plugboard_ok(root.path(), &["grant", id, "--all-requested", "--plugins", "plugins"]);
    }
    let out = common::plugboard_ok(root.path(), &["list", "--plugins", "plugins", "--health"]);
    assert!(
        row(&out, "conformance-v2").ends_with("enabled; healthy: healthy, 0 instance events"),
        "{out}"
    );
    assert!(
        row(&out, "compat-v2-1").ends_with("enabled; health not reported"),
        "a 2.1 plugin has no lifecycle export:\n{out}"
    );
}
