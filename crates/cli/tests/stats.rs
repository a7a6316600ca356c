//! Per-plugin metrics as a user reads them: the table `run --stats` prints
//! after a scripted run, and the Prometheus text served on `--metrics-addr`
//! while it runs, scraped over plain HTTP on 127.0.0.1.

#![cfg(feature = "prometheus")]

#[allow(dead_code, reason = "each test file uses its own part of the helpers")]
mod common;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Stdio;
use std::time::{Duration, Instant};

use plugboard_test_artifacts::{AUTO_TAG, HOSTILE};

/// A plugin folder of the hostile component that panics on every task event.
fn crasher(root: &std::path::Path) {
    let manifest = "[plugin]\nid = \"crasher\"\nname = \"crasher\"\nversion = \"0.1.0\"\napi = \"task-events@2\"\n\
                    component = \"hostile.wasm\"\n\n[events]\nsubscribe = [\"task-created\"]\n\n\
                    [config]\nattack = \"panic\"\n";
    common::plugin_folder(root, "crasher", manifest, HOSTILE);
}

/// The plugin folders and a script of three created tasks, then a pause
/// of `pause_ms` during which the endpoint can be read.
fn setup(root: &std::path::Path, pause_ms: u64) {
    common::plugin_folder(root, "auto-tag", &common::example_manifest("auto-tag"), AUTO_TAG);
    crasher(root);
    let mut script = String::new();
    for title in ["urgent: taxes", "milk", "call mum"] {
        script.push_str(&format!("{{\"create\": {{\"title\": \"{title}\"}}}}\n"));
    }
    script.push_str(&format!("{{\"pause\": {pause_ms}}}\n"));
    std::fs::write(root.join("script.jsonl"), script).unwrap();
}

/// A port nothing listens on now.
fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// `GET /metrics` with a plain TcpStream; the body, or why not.
fn scrape(addr: SocketAddr) -> Result<String, String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(|e| e.to_string())?;
    let (head, body) = response.split_once("\r\n\r\n").ok_or("no header end")?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(head.to_string());
    }
    Ok(body.to_string())
}

/// The value of one sample line of the text, e.g.
/// `plugboard_events_handled_total{plugin="auto-tag"}`.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

#[test]
fn a_scripted_run_serves_each_plugins_counters_on_127_0_0_1_and_prints_them_as_a_table() {
    let root = tempfile::tempdir().unwrap();
    setup(root.path(), 20_000);
    let addr = free_port();
    let addr_text = addr.to_string();
    let mut child = common::command(root.path())
        .args([
            "run",
            "--plugins",
            "plugins",
            "--trust-manifests",
            "--events",
            "script.jsonl",
        ])
        .args(["--stats", "--metrics-addr", &addr_text])
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
        .expect("plugboard run starts");

    // The script's three events are handled before its pause; the endpoint
    // answers from the moment the run starts, so read until they show.
    let start = Instant::now();
    let handled = "plugboard_events_handled_total{plugin=\"auto-tag\"}";
    let text = loop {
        let last = scrape(addr);
        if let Ok(text) = &last
            && value(text, handled) == Some(3.0)
        {
            break text.clone();
        }
        if start.elapsed() > Duration::from_secs(120) || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "three handled events never showed on {addr}: {last:?}\n{}\n{}",
                common::stdout(&output),
                common::stderr(&output)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        value(&text, "plugboard_traps_total{plugin=\"crasher\",kind=\"crash\"}"),
        Some(3.0),
        "a panic on each of the three events (three crash strikes quarantine it at the third):\n{text}"
    );
    assert_eq!(
        value(&text, "plugboard_events_handled_total{plugin=\"crasher\"}"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "plugboard_instantiations_total{plugin=\"auto-tag\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "plugboard_call_seconds_count{plugin=\"auto-tag\"}"),
        Some(3.0),
        "{text}"
    );
    assert!(
        value(&text, "plugboard_memory_high_water_bytes{plugin=\"auto-tag\"}").is_some_and(|b| b > 0.0),
        "{text}"
    );
    assert!(
        text.contains("# HELP plugboard_events_handled_total"),
        "described: {text}"
    );

    // The run is stopped in its pause; the table a finished run prints is
    // the next test's.
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn run_stats_prints_the_table_after_the_run() {
    let root = tempfile::tempdir().unwrap();
    setup(root.path(), 0);
    let out = common::plugboard_ok(
        root.path(),
        &[
            "run",
            "--plugins",
            "plugins",
            "--trust-manifests",
            "--events",
            "script.jsonl",
            "--stats",
        ],
    );
    let table = out
        .split("\nMetrics:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no table:\n{out}"));
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(&header[..4], ["PLUGIN", "HANDLED", "COMMANDS", "ERRORS"], "{table}");
    let row = |id: &str| -> Vec<String> {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("no row for {id}:\n{table}"))
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(row("auto-tag")[1], "3", "three events handled:\n{table}");
    let crasher = row("crasher");
    assert_eq!(crasher[1], "0", "{table}");
    assert_eq!(&crasher[4..7], ["3", "(crash", "3)"], "{table}");
}

#[test]
fn a_metrics_address_off_the_loopback_is_refused_before_anything_runs() {
    let root = tempfile::tempdir().unwrap();
    setup(root.path(), 0);
    let error = common::plugboard_fails(
        root.path(),
        &[
            "run",
            "--plugins",
            "plugins",
            "--events",
            "script.jsonl",
            "--metrics-addr",
            "0.0.0.0:9464",
        ],
    );
    assert!(
        error.contains("--metrics-addr 0.0.0.0:9464") && error.contains("loopback"),
        "{error}"
    );
}

#[test]
fn a_metrics_address_already_in_use_is_an_error_naming_it() {
    let root = tempfile::tempdir().unwrap();
    setup(root.path(), 0);
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let error = common::plugboard_fails(
        root.path(),
        &[
            "run",
            "--plugins",
            "plugins",
            "--events",
            "script.jsonl",
            "--metrics-addr",
            &addr,
        ],
    );
    assert!(error.contains(&format!("--metrics-addr {addr}")), "{error}");
}
