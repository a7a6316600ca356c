//! `plugboard serve` as a user runs it: the plugins kept loaded, their
//! timers firing, until SIGTERM stops it cleanly.

#[allow(dead_code, reason = "each test file uses its own part of the helpers")]
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use plugboard_test_artifacts::{CONFORMANCE_V2, Component, HOSTILE};

/// A plugin folder on the conformance-v2 component (it logs `timer NAME`
/// for each timer event) declaring one timer.
fn timer_plugin(root: &std::path::Path, id: &str, timer: &str, interval: &str, component: Component) {
    let manifest = format!(
        "[plugin]\nid = \"{id}\"\nname = \"{id}\"\nversion = \"0.1.0\"\napi = \"task-events@2\"\n\
         component = \"{}.wasm\"\n\n[events]\nsubscribe = [\"timer\"]\n\
         timers = [{{ name = \"{timer}\", interval = \"{interval}\" }}]\n",
        component.name
    );
    common::plugin_folder(root, id, &manifest, component);
}

/// The running server and its stdout, line by line.
struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Server {
    fn start(root: &std::path::Path, args: &[&str]) -> Server {
        let mut child = common::command(root)
            .arg("serve")
            .args(args)
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
            .stderr(Stdio::piped())
            .spawn()
            .expect("plugboard serve starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Server {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads lines until `done` holds for what was seen, at most `limit`.
    fn read_until(&mut self, what: &str, limit: Duration, done: impl Fn(&[String]) -> bool) {
        let start = Instant::now();
        while !done(&self.seen) {
            let left = limit.saturating_sub(start.elapsed());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!("{what} not seen within {limit:?}:\n{}", self.seen.join("\n")),
            }
        }
    }

    fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill only sends a signal to the child this test started.
        let sent = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(sent, 0, "the signal is sent");
    }

    /// Waits for the exit; returns the exit code, every stdout line, and stderr.
    fn finish(mut self) -> (Option<i32>, Vec<String>, String) {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "serve did not stop:\n{}",
                self.seen.join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        self.seen.extend(self.lines.iter());
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
        }
        (status.code(), self.seen, stderr)
    }
}

fn firings_of(lines: &[String], plugin: &str) -> usize {
    let header = format!("timer {plugin}/tick");
    lines.iter().filter(|l| l.starts_with(&header)).count()
}

#[test]
fn serve_fires_each_plugins_timer_for_it_alone_and_stops_cleanly_on_sigterm() {
    let root = tempfile::tempdir().unwrap();
    timer_plugin(root.path(), "fast", "tick", "100ms", CONFORMANCE_V2);
    timer_plugin(root.path(), "slow", "tick", "1h", CONFORMANCE_V2);
    let mut server = Server::start(root.path(), &["--plugins", "plugins", "--trust-manifests"]);
    server.read_until("the serving line", Duration::from_secs(120), |seen| {
        seen.iter().any(|l| l.starts_with("serving 2 plugin(s)"))
    });
    let serving = Instant::now();
    server.read_until("ten firings of fast's timer", Duration::from_secs(30), |seen| {
        firings_of(seen, "fast") >= 10
    });
    let took = serving.elapsed();
    server.signal(libc::SIGTERM);
    let (code, lines, stderr) = server.finish();
    let out = lines.join("\n");

    assert_eq!(code, Some(0), "a clean exit:\n{out}\n{stderr}");
    assert!(lines.iter().any(|l| l == "  fast: tick every 100ms"), "{out}");
    assert!(
        took < Duration::from_secs(5),
        "a 100 ms timer fires ten times well within 5 s, took {took:?}"
    );
    assert_eq!(firings_of(&lines, "slow"), 0, "slow's timer is an hour away:\n{out}");
    // Each firing reaches the plugin that declared it, and it alone.
    let reports: Vec<&[String]> = lines
        .split(|l| l.starts_with("timer "))
        .skip(1)
        .map(|after| {
            let end = after.iter().position(|l| !l.starts_with("  ")).unwrap_or(after.len());
            &after[..end]
        })
        .collect();
    assert!(reports.len() >= 10, "{out}");
    for report in &reports {
        let offered: Vec<&String> = report.iter().filter(|l| !l.starts_with("    ")).collect();
        assert_eq!(offered, ["  fast: handled"], "{out}");
        assert!(report.iter().any(|l| l == "    info: timer tick"), "{out}");
    }
    assert!(lines.iter().any(|l| l.starts_with("SIGTERM: stopping")), "{out}");
    let fired = firings_of(&lines, "fast");
    assert_eq!(
        lines.last().unwrap(),
        &format!("stopped: {fired} timer firing(s); every change the plugins committed is in the replica"),
        "the last line says it stopped, having reported every firing:\n{out}"
    );
}

#[test]
fn serve_stops_on_sigint_as_on_sigterm() {
    let root = tempfile::tempdir().unwrap();
    timer_plugin(root.path(), "fast", "tick", "100ms", CONFORMANCE_V2);
    let mut server = Server::start(root.path(), &["--plugins", "plugins", "--trust-manifests"]);
    server.read_until("the serving line", Duration::from_secs(120), |seen| {
        seen.iter().any(|l| l.starts_with("serving 1 plugin(s)"))
    });
    server.signal(libc::SIGINT);
    let (code, lines, stderr) = server.finish();
    assert_eq!(code, Some(0), "{}\n{stderr}", lines.join("\n"));
    assert!(lines.iter().any(|l| l.starts_with("SIGINT: stopping")), "{lines:?}");
    assert!(lines.last().unwrap().starts_with("stopped: "), "{lines:?}");
}

#[test]
fn serve_without_grants_fires_no_timer_and_says_why() {
    let root = tempfile::tempdir().unwrap();
    timer_plugin(root.path(), "fast", "tick", "100ms", CONFORMANCE_V2);
    let mut server = Server::start(root.path(), &["--plugins", "plugins"]);
    server.read_until("the serving line", Duration::from_secs(120), |seen| {
        seen.iter().any(|l| l.starts_with("serving 1 plugin(s)"))
    });
    std::thread::sleep(Duration::from_millis(500));
    server.signal(libc::SIGTERM);
    let (code, lines, _) = server.finish();
    assert_eq!(code, Some(0));
    assert!(
        lines
            .iter()
            .any(|l| l == "  fast: tick every 100ms (not fired: subscribe:timer not granted)"),
        "{lines:?}"
    );
    assert_eq!(firings_of(&lines, "fast"), 0, "{lines:?}");
    assert_eq!(
        lines.last().unwrap(),
        "stopped: 0 timer firing(s); every change the plugins committed is in the replica"
    );
}

#[test]
fn sigterm_waits_for_a_timer_firing_still_running_and_keeps_what_it_commits() {
    let root = tempfile::tempdir().unwrap();
    // Its timer fires after 100 ms, sleeps 1.5 s, then creates a task.
    let manifest = "[plugin]\nid = \"sleepy\"\nname = \"sleepy\"\nversion = \"0.1.0\"\napi = \"task-events@2\"\n\
                    component = \"hostile.wasm\"\n\n[events]\nsubscribe = [\"timer\"]\n\
                    timers = [{ name = \"tick\", interval = \"100ms\" }]\n\n[permissions]\ntasks = [\"write\"]\n\n\
                    [limits]\ndeadline = \"5s\"\n\n[config]\nattack = \"slow-timer\"\nsleep-ms = \"1500\"\n";
    common::plugin_folder(root.path(), "sleepy", manifest, HOSTILE);
    let mut server = Server::start(root.path(), &["--plugins", "plugins", "--trust-manifests"]);
    server.read_until("the serving line", Duration::from_secs(120), |seen| {
        seen.iter().any(|l| l.starts_with("serving 1 plugin(s)"))
    });
    // The first firing has started and is asleep.
    std::thread::sleep(Duration::from_millis(700));
    server.signal(libc::SIGTERM);
    let (code, lines, stderr) = server.finish();
    let out = lines.join("\n");
    assert_eq!(code, Some(0), "{out}\n{stderr}");
    let stopping = lines.iter().position(|l| l.starts_with("SIGTERM: stopping")).unwrap();
    assert!(
        lines[stopping..].iter().any(|l| l == "timer sleepy/tick =>"),
        "the firing running at the signal finished and was reported:\n{out}"
    );
    assert!(out.contains("    created task \"made by timer tick\""), "{out}");

    let export = common::plugboard_in(
        root.path(),
        &[
            "tasks",
            "export",
            "--data-dir",
            "data",
            "--config-dir",
            "config",
            "--plugins-dir",
            "installed",
        ],
    );
    let tasks: Vec<plugboard_contract::Task> = serde_json::from_slice(&export.stdout).unwrap();
    assert!(
        tasks.iter().any(|t| t.title == "made by timer tick"),
        "its committed task is in the replica: {tasks:?}"
    );
}

#[test]
fn serve_prints_lifecycle_events_a_plugin_loaded_started_and_one_quarantined() {
    let root = tempfile::tempdir().unwrap();
    timer_plugin(root.path(), "fast", "tick", "100ms", CONFORMANCE_V2);
    // Its init loops: its first timer firing starts it, past its deadline.
    let manifest = "[plugin]\nid = \"looper\"\nname = \"looper\"\nversion = \"0.2.0\"\napi = \"task-events@2\"\n\
                    component = \"hostile.wasm\"\n\n[events]\nsubscribe = [\"timer\"]\n\
                    timers = [{ name = \"tick\", interval = \"100ms\" }]\n\n[config]\nattack = \"loop-in-init\"\n";
    common::plugin_folder(root.path(), "looper", manifest, HOSTILE);
    let mut server = Server::start(root.path(), &["--plugins", "plugins", "--trust-manifests"]);
    server.read_until("the quarantine event", Duration::from_secs(120), |seen| {
        seen.iter()
            .any(|l| l.starts_with("event: looper 0.2.0 quarantined for deadline: "))
    });
    server.read_until("fast's start", Duration::from_secs(30), |seen| {
        seen.iter().any(|l| l == "event: fast 0.1.0 started")
    });
    server.signal(libc::SIGTERM);
    let (code, lines, stderr) = server.finish();
    let out = lines.join("\n");
    assert_eq!(code, Some(0), "{out}\n{stderr}");
    for line in ["event: fast 0.1.0 loaded", "event: looper 0.2.0 loaded"] {
        assert!(lines.iter().any(|l| l == line), "{line:?} missing:\n{out}");
    }
    assert!(
        lines.iter().any(|l| l.starts_with("event: fast 0.1.0 found in ")),
        "{out}"
    );
    assert!(
        !lines.iter().any(|l| l == "event: looper 0.2.0 started"),
        "a plugin whose init never returns never started:\n{out}"
    );
}
