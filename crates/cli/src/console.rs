//! `plugboard console`: an interactive prompt on a running `plugboard
//! serve` (through its control socket), or on a host of its own on the data
//! folder when none runs. Plugin log lines and errors arrive while the user
//! types, coloured by level; `plugins`, `run ID.COMMAND ARGS`, `emit TOPIC
//! JSON`, `grants ID`, `reload ID` and `stats` ask the host. The line editor
//! keeps a history (`console-history` in the data folder, the last
//! [`HISTORY_LINES`] lines) and completes commands and plugin ids.
//!
//! `plugboard stats` is the console's `stats` asked once.

use std::io::{BufReader, IsTerminal as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::ExitCode;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use plugboard::Host;
use plugboard_registry::PluginDirs;
use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, ExternalPrinter as _, Helper};

use crate::control::{self, Controller, LogLine, Reply, Request, ServerLine, Tail, TeeLogs};
use crate::stats::Metrics;

/// The arguments of `plugboard console`.
#[derive(Debug, clap::Args)]
pub struct ConsoleArgs {
    /// With no server running: host the plugins in this folder's subfolders
    /// instead of the installed ones (a development run).
    #[arg(long, value_name = "DIR")]
    plugins: Option<std::path::PathBuf>,
    /// With no server running: give every plugin everything its manifest
    /// requests, ignoring your grants (for your own plugins only).
    #[arg(long)]
    trust_manifests: bool,
}

/// The history file in the data folder.
pub const HISTORY_FILE: &str = "console-history";
/// The most lines of history kept.
pub const HISTORY_LINES: usize = 500;
/// How long the console waits for the server to answer one request (a
/// command or a dispatch is bounded by the host well within this).
const ANSWER_WITHIN: Duration = Duration::from_secs(120);

const COMMANDS: [&str; 10] = [
    "plugins", "run", "emit", "grants", "reload", "health", "stats", "help", "quit", "exit",
];

const HELP: &str = "\
plugins                 the plugins: status, version, world, strikes, quarantine, health of those running
run ID.COMMAND ARGS...  run a plugin's command
emit TOPIC JSON         send the plugins a custom event (custom:TOPIC) from the console
grants ID               what a plugin was granted, and what it asks for and was not
reload ID               load a plugin's folder again and swap it in
health ID               how a plugin says it is (its lifecycle.health; starts it if idle)
stats                   each plugin's metrics
quit                    leave (Ctrl-D too); a server keeps running";

/// What the user typed, as a request.
fn parse(line: &str) -> Result<Option<Request>, String> {
    let line = line.trim();
    let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    let one = |what: &str| -> Result<String, String> {
        match rest.split_whitespace().collect::<Vec<_>>()[..] {
            [id] => Ok(id.to_string()),
            _ => Err(format!("usage: {word} {what}")),
        }
    };
    Ok(Some(match word {
        "" => return Ok(None),
        "plugins" => Request::Plugins {},
        "stats" => Request::Stats {},
        "grants" => Request::Grants { plugin: one("ID")? },
        "reload" => Request::Reload { plugin: one("ID")? },
        "health" => Request::Health { plugin: one("ID")? },
        "run" => {
            let mut words = rest.split_whitespace();
            let target = words.next().ok_or("usage: run ID.COMMAND ARGS...")?;
            // A plugin id may hold dots; the command is after the last one.
            let (plugin, command) = target
                .rsplit_once('.')
                .filter(|(p, c)| !p.is_empty() && !c.is_empty())
                .ok_or_else(|| format!("run {target}: expected ID.COMMAND, e.g. auto-tag.retag"))?;
            Request::Run {
                plugin: plugin.to_string(),
                command: command.to_string(),
                args: words.map(str::to_string).collect(),
            }
        }
        "emit" => {
            let (topic, payload) = rest.split_once(char::is_whitespace).ok_or("usage: emit TOPIC JSON")?;
            Request::Emit {
                topic: topic.to_string(),
                payload: payload.trim().to_string(),
            }
        }
        other => return Err(format!("unknown command `{other}`; `help` lists them")),
    }))
}

/// Where requests go: the server's socket, or a host of this console.
enum Link {
    Socket {
        stream: UnixStream,
        replies: mpsc::Receiver<Reply>,
    },
    Local(Controller),
}

impl Link {
    fn ask(&mut self, request: &Request) -> Result<String, String> {
        match self {
            Link::Local(controller) => controller.handle(request),
            Link::Socket { stream, replies } => {
                let line = serde_json::to_string(request).map_err(|e| e.to_string())?;
                writeln!(stream, "{line}").map_err(|e| format!("the server went away: {e}"))?;
                let reply = replies
                    .recv_timeout(ANSWER_WITHIN)
                    .map_err(|_| "the server did not answer (it stopped?)".to_string())?;
                match reply {
                    Reply { ok: true, text, .. } => Ok(text.unwrap_or_default()),
                    Reply { error, .. } => Err(error.unwrap_or_else(|| "failed".into())),
                }
            }
        }
    }
}

/// Connects to the server's socket; the server's lines are read on a
/// thread of their own: log lines go to `on_log`, replies to the link.
fn connect(data_dir: &Path, on_log: impl FnMut(LogLine) + Send + 'static) -> Option<Link> {
    let stream = UnixStream::connect(control::socket_path(data_dir)).ok()?;
    let reading = stream.try_clone().ok()?;
    let (sender, replies) = mpsc::channel();
    let mut on_log = on_log;
    std::thread::Builder::new()
        .name("console-read".into())
        .spawn(move || {
            let mut reader = BufReader::new(reading);
            while let Ok(Some(line)) = control::read_bounded_line(&mut reader) {
                match serde_json::from_str::<ServerLine>(&line) {
                    Ok(ServerLine::Log(log)) => on_log(log),
                    Ok(ServerLine::Reply(reply)) => {
                        if sender.send(reply).is_err() {
                            return;
                        }
                    }
                    Err(_) => continue,
                }
            }
        })
        .ok()?;
    Some(Link::Socket { stream, replies })
}

/// A log line for the terminal: `[id] level text`, coloured by level when
/// `colour` (errors red, warnings yellow, audit entries magenta, debug and
/// trace dim). The text is the plugin's: control characters are escaped
/// so that it cannot drive the terminal.
fn log_text(log: &LogLine, colour: bool) -> String {
    let text = format!(
        "[{}] {} {}",
        plugboard::display::escaped(&log.plugin),
        log.level,
        plugboard::display::escaped(&log.text)
    );
    let code = match log.level.as_str() {
        "error" => "31",
        "warn" => "33",
        "audit" => "35",
        "debug" | "trace" => "2",
        _ => return text,
    };
    match colour {
        true => format!("\x1b[{code}m{text}\x1b[0m"),
        false => text,
    }
}

/// Prints a line above the prompt.
type Printer = Box<dyn FnMut(String) + Send>;

/// Completes the first word from the commands, the second (of `run`,
/// `grants`, `reload`) from the plugin ids.
struct Completion {
    ids: Arc<Mutex<Vec<String>>>,
}

impl Completer for Completion {
    type Candidate = String;

    fn complete(&self, line: &str, pos: usize, _: &Context<'_>) -> rustyline::Result<(usize, Vec<String>)> {
        let before = &line[..pos];
        let start = before.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let word = &before[start..];
        let words_before = before[..start].split_whitespace().count();
        let candidates: Vec<String> = match (words_before, before.split_whitespace().next()) {
            (0, _) => COMMANDS.iter().map(|c| c.to_string()).collect(),
            (1, Some("run" | "grants" | "reload" | "health")) => {
                let ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
                ids.iter()
                    .map(|id| match before.starts_with("run") {
                        true => format!("{id}."),
                        false => id.clone(),
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        Ok((start, candidates.into_iter().filter(|c| c.starts_with(word)).collect()))
    }
}

impl Hinter for Completion {
    type Hint = String;
}
impl Highlighter for Completion {}
impl Validator for Completion {}
impl Helper for Completion {}

/// The plugin ids, from the first column of the `plugins` answer.
fn ids_of(plugins: &str) -> Vec<String> {
    plugins
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Runs the console until `quit` or end of input.
pub fn console(args: &ConsoleArgs, dirs: &PluginDirs, config_dir: &Path, data_dir: &Path) -> anyhow::Result<ExitCode> {
    let colour = std::io::stdout().is_terminal();
    let mut editor: Editor<Completion, rustyline::history::DefaultHistory> = Editor::with_config(
        rustyline::Config::builder()
            .max_history_size(HISTORY_LINES)
            .context("the history size")?
            .auto_add_history(true)
            .build(),
    )
    .context("cannot start the line editor")?;
    let ids: Arc<Mutex<Vec<String>>> = Arc::default();
    editor.set_helper(Some(Completion { ids: ids.clone() }));
    let history = data_dir.join(HISTORY_FILE);
    let _ = editor.load_history(&history);

    // Log lines print above the prompt while the user types; without a
    // terminal they are written as they come.
    let printer: Arc<Mutex<Printer>> = match editor.create_external_printer() {
        // A line ending: while the editor waits for a key it adds one
        // itself, but not while a request is being answered.
        Ok(mut external) => Arc::new(Mutex::new(Box::new(move |text: String| {
            let _ = external.print(format!("{text}\n"));
        }))),
        Err(_) => Arc::new(Mutex::new(Box::new(|text: String| println!("{text}")))),
    };
    let print_log = {
        let printer = printer.clone();
        move |log: LogLine| {
            let mut print = printer.lock().unwrap_or_else(|e| e.into_inner());
            (*print)(log_text(&log, colour))
        }
    };

    let mut link = match connect(data_dir, print_log.clone()) {
        Some(link) => {
            println!(
                "connected to the plugboard serve on {} (`help` lists the commands)",
                data_dir.display()
            );
            link
        }
        None => {
            let (link, host) = local(args, dirs, config_dir, data_dir, print_log)?;
            println!(
                "no plugboard serve runs on {}: serving its {} plugin(s) in this console until you quit (`help` lists the commands)",
                data_dir.display(),
                host.plugins().len()
            );
            link
        }
    };
    if let Ok(plugins) = link.ask(&Request::Plugins {}) {
        *ids.lock().unwrap_or_else(|e| e.into_inner()) = ids_of(&plugins);
    }

    loop {
        let line = match editor.readline("plugboard> ") {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(error) => return Err(error).context("cannot read from the terminal"),
        };
        let trimmed = line.trim();
        if trimmed == "quit" || trimmed == "exit" {
            break;
        }
        if trimmed == "help" {
            println!("{HELP}");
            continue;
        }
        let request = match parse(trimmed) {
            Ok(Some(request)) => request,
            Ok(None) => continue,
            Err(why) => {
                println!("{why}");
                continue;
            }
        };
        match link.ask(&request) {
            Ok(text) => {
                if request == (Request::Plugins {}) {
                    *ids.lock().unwrap_or_else(|e| e.into_inner()) = ids_of(&text);
                }
                println!("{text}");
            }
            Err(why) => {
                let text = format!("error: {why}");
                println!("{}", if colour { format!("\x1b[31m{text}\x1b[0m") } else { text });
            }
        }
    }
    if let Err(error) = editor.save_history(&history) {
        eprintln!(
            "warning: the console history could not be saved in {}: {error}",
            history.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A host of the console's own on the data folder, as `serve` opens it
/// (without timers), its log lines sent to `on_log`.
fn local(
    args: &ConsoleArgs,
    dirs: &PluginDirs,
    config_dir: &Path,
    data_dir: &Path,
    on_log: impl Fn(LogLine) + Send + 'static,
) -> anyhow::Result<(Link, Host)> {
    let metrics = Metrics::install(None).ok();
    let store = crate::tasks::open_store(data_dir)?;
    let mut config = crate::run::folders_config(
        args.plugins.as_deref(),
        dirs,
        config_dir,
        data_dir,
        args.trust_manifests,
    );
    config.watch = true;
    let tail = Tail::default();
    let (sender, lines) = mpsc::sync_channel(control::MAX_PENDING);
    tail.subscribe(sender);
    std::thread::Builder::new()
        .name("console-tail".into())
        .spawn(move || {
            for line in lines {
                if let ServerLine::Log(log) = line {
                    on_log(log);
                }
            }
        })
        .context("cannot start the console's log thread")?;
    let logs = TeeLogs {
        inner: Arc::new(plugboard::PluginLogFiles::new(data_dir)),
        tail,
    };
    let host = plugboard::Host::builder(config)
        .task_store(store)
        .plugin_logs(Arc::new(logs))
        .open()?;
    crate::run::opened::print_problems(host.report());
    Ok((Link::Local(Controller::new(host.clone(), metrics)), host))
}

/// `plugboard stats`: the metrics of the `plugboard serve` running on the
/// data folder.
pub fn stats(data_dir: &Path) -> anyhow::Result<ExitCode> {
    let Some(mut link) = connect(data_dir, |_| {}) else {
        anyhow::bail!(
            "no plugboard serve runs on {} (nothing answers on {}); start one, or see a run's metrics with \
             `plugboard run --stats`",
            data_dir.display(),
            control::socket_path(data_dir).display()
        );
    };
    match link.ask(&Request::Stats {}) {
        Ok(table) => {
            println!("{table}");
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => anyhow::bail!("{why}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_lines_become_requests_or_say_what_is_wrong() {
        assert_eq!(parse("  plugins ").unwrap(), Some(Request::Plugins {}));
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(
            parse("run my.plugin.echo a b").unwrap(),
            Some(Request::Run {
                plugin: "my.plugin".into(),
                command: "echo".into(),
                args: vec!["a".into(), "b".into()]
            })
        );
        assert_eq!(
            parse(r#"emit ping {"a": 1}"#).unwrap(),
            Some(Request::Emit {
                topic: "ping".into(),
                payload: r#"{"a": 1}"#.into()
            })
        );
        assert!(parse("run echo").unwrap_err().contains("ID.COMMAND"));
        assert!(parse("grants").unwrap_err().contains("usage: grants ID"));
        assert_eq!(
            parse("health auto-tag").unwrap(),
            Some(Request::Health {
                plugin: "auto-tag".into()
            })
        );
        assert!(parse("health a b").unwrap_err().contains("usage: health ID"));
        assert!(parse("emit ping").unwrap_err().contains("usage: emit"));
        assert!(parse("format c:").unwrap_err().contains("unknown command `format`"));
    }

    #[test]
    fn a_plugins_log_text_cannot_drive_the_terminal() {
        let log = LogLine {
            plugin: "p".into(),
            level: "error".into(),
            text: "\x1b[2Jgone".into(),
        };
        let plain = log_text(&log, false);
        assert!(!plain.contains('\x1b'), "{plain:?}");
        let coloured = log_text(&log, true);
        assert_eq!(
            coloured.matches('\x1b').count(),
            2,
            "only the console's own colour codes: {coloured:?}"
        );
    }
}
