//! The control socket of `plugboard serve`, and the requests it answers,
//! which `plugboard console` and `plugboard stats` send (a console with no
//! server answers them itself, on a host of its own).
//!
//! The socket is `control.sock` in the data folder, a Unix socket of mode
//! 0600, and a connection is accepted only from a process of the user
//! `serve` runs as (its peer credentials are checked): whoever can connect
//! can run plugin commands and emit events, as that user. The protocol is
//! one JSON object per line both ways:
//! - a request: `{"op": "plugins"}`, `{"op": "run", "plugin": ID, "command":
//!   NAME, "args": [..]}`, `{"op": "emit", "topic": T, "payload": JSON-TEXT}`,
//!   `{"op": "grants", "plugin": ID}`, `{"op": "reload", "plugin": ID}`,
//!   `{"op": "stats"}`; answered in order by `{"reply": {"ok": true,
//!   "text": ..}}` or `{"reply": {"ok": false, "error": ..}}`;
//! - pushed at any time: `{"log": {"plugin": ID, "level": L, "text": ..}}`,
//!   each plugin log line and audit entry (denied call, trap, quarantine) as
//!   the host writes it to the plugin's log.
//!
//! Bounds: a request line is at most [`MAX_LINE`] bytes (a longer one is
//! answered with an error and the connection closed), at most
//! [`MAX_CONNECTIONS`] connections at once (one more is told so and
//! closed), at most [`MAX_PENDING`] lines queued for a connection that does
//! not read (log lines past that are dropped for it, and it is told how
//! many), and a write that blocks for [`WRITE_TIMEOUT`] closes it. The host
//! work a request causes is bounded as any dispatch or command is.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use plugboard::display::escaped;
use plugboard::{Host, PluginStatus, QuarantineRecord};
use plugboard_contract::{CustomEvent, Event};
use plugboard_host::AbuseKind;
use plugboard_host::plugin_log::{LogEntry, PluginLogError, PluginLogSink};
use plugboard_host::task_store::Timestamp;
use serde::{Deserialize, Serialize};

use crate::describe;
use crate::grant;
use crate::stats::{self, Metrics};

/// The socket's name in the data folder.
pub const SOCKET: &str = "control.sock";
/// The longest request line, in bytes (an emitted payload included).
pub const MAX_LINE: usize = 64 * 1024;
/// The most connections served at once.
pub const MAX_CONNECTIONS: usize = 8;
/// The most lines queued for one connection.
pub const MAX_PENDING: usize = 1024;
/// How long a write to a connection may block before it is closed.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the control socket of the data folder is.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET)
}

/// A request, as sent on the socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Request {
    /// The plugins with their status, version, world, strikes, quarantine.
    Plugins {},
    /// Runs a plugin's command.
    Run {
        plugin: String,
        command: String,
        #[serde(default)]
        args: Vec<String>,
    },
    /// Sends the plugins a custom event from the console.
    Emit { topic: String, payload: String },
    /// What a plugin was granted, and what it asks for and was not.
    Grants { plugin: String },
    /// Loads a plugin's folder again and swaps it in.
    Reload { plugin: String },
    /// How a plugin says it is (its `lifecycle.health`; started first if
    /// it is idle).
    Health { plugin: String },
    /// The metrics table.
    Stats {},
}

/// One line from the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServerLine {
    /// The answer to the request sent before.
    Reply(Reply),
    /// A line of a plugin's log, as it is written.
    Log(LogLine),
}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl From<Result<String, String>> for Reply {
    fn from(result: Result<String, String>) -> Reply {
        match result {
            Ok(text) => Reply {
                ok: true,
                text: Some(text),
                error: None,
            },
            Err(error) => Reply {
                ok: false,
                text: None,
                error: Some(error),
            },
        }
    }
}

/// A plugin log line for the live tail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    pub plugin: String,
    /// `trace`, `debug`, `info`, `warn`, `error`, or `audit` for what the
    /// host recorded (a denied call, a trap, a quarantine).
    pub level: String,
    pub text: String,
}

/// A subscriber of the live tail: its number and its queue.
type Subscriber = (u64, SyncSender<ServerLine>);

/// The subscribers of the live tail: each gets every log line the host
/// writes, as long as it keeps up.
#[derive(Clone, Default)]
pub struct Tail {
    subscribers: Arc<Mutex<Vec<Subscriber>>>,
    next: Arc<AtomicUsize>,
}

impl Tail {
    /// Adds a subscriber; returns its number, for [`Tail::unsubscribe`].
    pub fn subscribe(&self, sender: SyncSender<ServerLine>) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed) as u64;
        self.subscribers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((id, sender));
        id
    }

    /// Removes a subscriber.
    pub fn unsubscribe(&self, id: u64) {
        self.subscribers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(each, _)| *each != id);
    }

    fn send(&self, line: &LogLine) {
        let mut subscribers = self.subscribers.lock().unwrap_or_else(|e| e.into_inner());
        // One that is gone is dropped; one that is full misses this line.
        subscribers.retain(|(_, s)| {
            !matches!(
                s.try_send(ServerLine::Log(line.clone())),
                Err(TrySendError::Disconnected(_))
            )
        });
    }
}

/// The host's plugin log: written where it always is, and handed to the
/// live tail. Called on the host's log writer thread, never on dispatch.
pub struct TeeLogs {
    pub inner: Arc<dyn PluginLogSink>,
    pub tail: Tail,
}

impl PluginLogSink for TeeLogs {
    fn append(&self, plugin: &str, at: Timestamp, entries: &[LogEntry<'_>]) -> Result<(), PluginLogError> {
        for entry in entries {
            let (level, text) = match entry {
                LogEntry::Plugin(line) => (line.level.to_string(), line.message.clone()),
                LogEntry::Audit(text) => ("audit".to_string(), text.clone()),
            };
            self.tail.send(&LogLine {
                plugin: plugin.to_string(),
                level,
                text,
            });
        }
        self.inner.append(plugin, at, entries)
    }

    fn flush(&self) -> Result<(), PluginLogError> {
        self.inner.flush()
    }
}

/// Answers requests on an open host.
#[derive(Clone)]
pub struct Controller {
    pub host: Host,
    pub metrics: Option<Metrics>,
    /// Quarantines since the host opened, by plugin.
    quarantined: Arc<Mutex<BTreeMap<String, QuarantineRecord>>>,
}

impl Controller {
    /// A controller of `host`, listening for its quarantines.
    pub fn new(host: Host, metrics: Option<Metrics>) -> Controller {
        let quarantined: Arc<Mutex<BTreeMap<String, QuarantineRecord>>> = Arc::default();
        let heard = quarantined.clone();
        host.on_quarantine(move |record| {
            heard
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(record.plugin.clone(), record.clone());
        });
        Controller {
            host,
            metrics,
            quarantined,
        }
    }

    /// The answer to `request`: text for the user, or why not.
    pub fn handle(&self, request: &Request) -> Result<String, String> {
        match request {
            Request::Plugins {} => Ok(self.plugins()),
            Request::Run { plugin, command, args } => self
                .host
                .run_command_blocking(plugin, command, args)
                .map(|output| {
                    let mut text = escaped(&output.text).to_string();
                    for line in describe::effects(&output.effects) {
                        text.push_str(&format!("\n  {}", escaped(&line)));
                    }
                    text
                })
                .map_err(|e| e.to_string()),
            Request::Emit { topic, payload } => self.emit(topic, payload),
            Request::Grants { plugin } => self.grants(plugin),
            Request::Reload { plugin } => match self.host.reload_plugin(plugin) {
                Some(reload) => Ok(format!("reload: {reload}")),
                None => Err(format!("no plugin `{plugin}` is loaded")),
            },
            Request::Health { plugin } => match self.host.health_blocking(plugin) {
                Some(health) => Ok(format!("{plugin}: {}", escaped(&health.to_string()))),
                None => Err(format!("no plugin `{plugin}` is loaded")),
            },
            Request::Stats {} => match &self.metrics {
                Some(metrics) => Ok(stats::table(&stats::parse(&metrics.text())).trim_end().to_string()),
                None => Err("this plugboard was built without the `prometheus` feature, so it keeps no metrics".into()),
            },
        }
    }

    fn plugins(&self) -> String {
        let quarantined = self.quarantined.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut lines = vec!["PLUGIN  VERSION  WORLD  STATUS  STRIKES  HEALTH".to_string()];
        let loaded = self.host.plugins();
        for plugin in &loaded {
            let id = plugin.id();
            let world = plugin.world().map_or("data only".to_string(), |w| {
                format!("{} (built against {})", w.version, w.built_against)
            });
            let live = self.host.is_live(id);
            let status = match quarantined.get(id) {
                Some(record) => format!("quarantined: {}", record.reason),
                None if live => "loaded, running".to_string(),
                None => "loaded, idle".to_string(),
            };
            // Asked of running plugins only: listing starts nothing
            // (`health ID` does).
            let health = match live {
                true => self
                    .host
                    .health_blocking(id)
                    .map_or_else(|| "-".to_string(), |h| h.to_string()),
                false => "-".to_string(),
            };
            let strikes = self.host.strikes(id).unwrap_or_default();
            let kinds: Vec<String> = AbuseKind::ALL
                .iter()
                .filter(|k| strikes.count(**k) > 0)
                .map(|k| format!("{k} {}", strikes.count(*k)))
                .collect();
            let strikes = match kinds.is_empty() {
                true => "0".to_string(),
                false => format!("{} ({})", strikes.total(), kinds.join(", ")),
            };
            lines.push(format!(
                "{id}  {}  {world}  {}  {strikes}  {}",
                plugin.manifest.plugin.version,
                escaped(&status),
                escaped(&health)
            ));
        }
        for plugin in &self.host.report().plugins {
            if loaded.iter().any(|p| p.id() == plugin.id) || matches!(plugin.status, PluginStatus::Loaded(_)) {
                continue;
            }
            let status = match quarantined.get(&plugin.id) {
                Some(record) => format!("quarantined: {}", record.reason),
                None => plugin.status.to_string(),
            };
            lines.push(format!(
                "{}  {}  -  {}  -  -",
                plugin.id,
                plugin.version,
                escaped(&status)
            ));
        }
        for (id, record) in &quarantined {
            if !loaded.iter().any(|p| p.id() == id) && !self.host.report().plugins.iter().any(|p| &p.id == id) {
                lines.push(format!("{id}  -  -  quarantined: {}  -  -", escaped(&record.reason)));
            }
        }
        if lines.len() == 1 {
            return "no plugins".to_string();
        }
        columns(&lines)
    }

    fn emit(&self, topic: &str, payload: &str) -> Result<String, String> {
        if topic.is_empty() {
            return Err("emit TOPIC JSON: the topic is empty".into());
        }
        serde_json::from_str::<serde_json::Value>(payload)
            .map_err(|e| format!("emit {topic}: the payload is not JSON ({e})"))?;
        let event = Event::Custom(CustomEvent {
            topic: topic.to_string(),
            payload: payload.as_bytes().to_vec(),
            source: "console".to_string(),
        });
        let report = self.host.dispatch_blocking(&event);
        if report.deliveries.is_empty() {
            return Ok(format!("custom:{topic}: no plugin is subscribed to it and granted it"));
        }
        let lines: Vec<String> = report
            .deliveries
            .iter()
            .map(|d| format!("{}: {}", d.plugin, escaped(&describe::outcome(&d.outcome))))
            .collect();
        Ok(lines.join("\n"))
    }

    fn grants(&self, id: &str) -> Result<String, String> {
        let plugin = self
            .host
            .plugins()
            .into_iter()
            .find(|p| p.id() == id)
            .ok_or_else(|| format!("no plugin `{id}` is loaded"))?;
        let policy = plugin.policy.describe();
        let mut text = match policy.is_empty() {
            true => format!("{id}: nothing granted"),
            false => format!("{id}: {}", policy.join(", ")),
        };
        let missing = grant::not_granted(&plugin.manifest, &plugin.policy, &plugin.limits);
        if !missing.is_empty() {
            text.push_str(&format!("\nrequested, not granted: {}", missing.join(", ")));
        }
        Ok(text)
    }
}

/// Lines of cells separated by two spaces, aligned in columns.
fn columns(lines: &[String]) -> String {
    let rows: Vec<Vec<&str>> = lines.iter().map(|l| l.split("  ").collect()).collect();
    let count = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..count)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{c:<width$}", width = widths[i]))
                .collect();
            cells.join("  ").trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The control socket, served on threads of its own until dropped.
pub struct Server {
    path: PathBuf,
    /// Tells the accepting thread to end (and let go of the host).
    stop: Arc<std::sync::atomic::AtomicBool>,
    accepting: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // A connection of its own wakes the accepting thread, which sees
        // the flag and ends, dropping its handle of the host.
        if UnixStream::connect(&self.path).is_ok()
            && let Some(thread) = self.accepting.take()
        {
            let _ = thread.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Server {
    /// Binds the data folder's control socket (mode 0600) and serves it.
    /// Fails when another server answers on it; a socket file nobody
    /// answers on (left by a server that was killed) is replaced.
    pub fn start(data_dir: &Path, controller: Controller, tail: Tail) -> anyhow::Result<Server> {
        let path = socket_path(data_dir);
        Server::check_none_runs(data_dir)?;
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot replace the old control socket {}", path.display()));
            }
        }
        std::fs::create_dir_all(data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
        let listener =
            UnixListener::bind(&path).with_context(|| format!("cannot make the control socket {}", path.display()))?;
        // Peer credentials are checked on every connection too, so a
        // connection made before this change of mode is refused as well.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot make {} private (mode 0600)", path.display()))?;
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let accepting = std::thread::Builder::new()
            .name("control-socket".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if stopped.load(Ordering::Acquire) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    accept(stream, &controller, &tail, &connections);
                }
            })
            .context("cannot start the control socket's thread")?;
        Ok(Server {
            path,
            stop,
            accepting: Some(accepting),
        })
    }

    /// Fails when a server answers on the data folder's control socket.
    pub fn check_none_runs(data_dir: &Path) -> anyhow::Result<()> {
        let path = socket_path(data_dir);
        if UnixStream::connect(&path).is_ok() {
            anyhow::bail!(
                "another plugboard serve is running on {} (its control socket {} answers); stop it first",
                data_dir.display(),
                path.display()
            );
        }
        Ok(())
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The user id of the process at the other end of `stream`.
fn peer_uid(stream: &UnixStream) -> Option<libc::uid_t> {
    use std::os::fd::AsRawFd as _;
    let mut cred: libc::ucred = libc::ucred { pid: 0, uid: 0, gid: 0 };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for the size given, and the fd is
    // the stream's own, open for the duration of the call.
    let done = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    (done == 0).then_some(cred.uid)
}

fn refuse(mut stream: UnixStream, why: String) {
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let _ = writeln!(stream, "{}", line_of(&ServerLine::Reply(Reply::from(Err(why)))));
}

fn line_of(line: &ServerLine) -> String {
    // Serialising these plain structs of strings cannot fail.
    serde_json::to_string(line).unwrap_or_default()
}

fn accept(stream: UnixStream, controller: &Controller, tail: &Tail, connections: &Arc<AtomicUsize>) {
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if peer_uid(&stream) != Some(me) {
        return refuse(
            stream,
            "refused: the control socket serves only the user plugboard serve runs as".into(),
        );
    }
    if connections.fetch_add(1, Ordering::AcqRel) >= MAX_CONNECTIONS {
        connections.fetch_sub(1, Ordering::AcqRel);
        return refuse(
            stream,
            format!("refused: {MAX_CONNECTIONS} consoles are connected already"),
        );
    }
    let controller = controller.clone();
    let (sender, queue) = mpsc::sync_channel(MAX_PENDING);
    let (Ok(reading), Ok(writing)) = (stream.try_clone(), stream.try_clone()) else {
        connections.fetch_sub(1, Ordering::AcqRel);
        return;
    };
    let tail = tail.clone();
    let subscriber = tail.subscribe(sender.clone());
    let _ = writing.set_write_timeout(Some(WRITE_TIMEOUT));
    let counted = connections.clone();
    let spawned = std::thread::Builder::new()
        .name("control-write".into())
        .spawn(move || write_lines(writing, queue));
    if spawned.is_err() {
        tail.unsubscribe(subscriber);
        connections.fetch_sub(1, Ordering::AcqRel);
        return;
    }
    let _ = std::thread::Builder::new().name("control-read".into()).spawn(move || {
        serve_requests(reading, &controller, &sender);
        // With both senders gone, the writer ends once it has written what
        // is queued.
        tail.unsubscribe(subscriber);
        drop(sender);
        let _ = stream.shutdown(std::net::Shutdown::Read);
        counted.fetch_sub(1, Ordering::AcqRel);
    });
}

fn write_lines(mut stream: UnixStream, queue: Receiver<ServerLine>) {
    for line in queue {
        if writeln!(stream, "{}", line_of(&line)).is_err() {
            // A client that stopped reading (the write timed out) or left.
            let _ = stream.shutdown(std::net::Shutdown::Both);
            return;
        }
    }
}

/// Reads one line of at most [`MAX_LINE`] bytes; `Ok(None)` at the end,
/// `Err` for a longer line.
pub fn read_bounded_line(reader: &mut impl BufRead) -> Result<Option<String>, String> {
    let mut bytes = Vec::new();
    let read = reader
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut bytes)
        .map_err(|e| e.to_string())?;
    if read == 0 {
        return Ok(None);
    }
    if bytes.last() != Some(&b'\n') && bytes.len() > MAX_LINE {
        return Err(format!("a line is longer than {MAX_LINE} bytes"));
    }
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| "a line is not UTF-8".to_string())
}

fn serve_requests(stream: UnixStream, controller: &Controller, replies: &SyncSender<ServerLine>) {
    let mut reader = BufReader::new(stream);
    loop {
        let line = match read_bounded_line(&mut reader) {
            Ok(Some(line)) => line,
            Ok(None) => return,
            Err(why) => {
                let _ = replies.send(ServerLine::Reply(Reply::from(Err(format!(
                    "{why}; closing the connection"
                )))));
                return;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let reply = match serde_json::from_str::<Request>(&line) {
            Ok(request) => controller.handle(&request),
            Err(e) => Err(format!("not a request ({e})")),
        };
        if replies.send(ServerLine::Reply(reply.into())).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_read_from_their_json_lines() {
        let run: Request =
            serde_json::from_str(r#"{"op": "run", "plugin": "a", "command": "echo", "args": ["x"]}"#).unwrap();
        assert_eq!(
            run,
            Request::Run {
                plugin: "a".into(),
                command: "echo".into(),
                args: vec!["x".into()]
            }
        );
        assert!(serde_json::from_str::<Request>(r#"{"op": "format-disk"}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"op": "stats", "extra": 1}"#).is_err());
    }

    #[test]
    fn a_line_past_the_bound_is_refused_without_reading_it_all() {
        let long = vec![b'x'; MAX_LINE * 4];
        let mut reader = std::io::Cursor::new(long);
        let error = read_bounded_line(&mut reader).unwrap_err();
        assert!(error.contains("longer than"), "{error}");
        assert!(
            reader.position() <= MAX_LINE as u64 + 1,
            "read {} bytes",
            reader.position()
        );
        let mut fits = std::io::Cursor::new(format!("{}\nnext\n", "y".repeat(MAX_LINE)));
        assert_eq!(read_bounded_line(&mut fits).unwrap().map(|l| l.len()), Some(MAX_LINE));
        assert_eq!(read_bounded_line(&mut fits).unwrap().as_deref(), Some("next"));
        assert_eq!(read_bounded_line(&mut fits).unwrap(), None);
    }
}
