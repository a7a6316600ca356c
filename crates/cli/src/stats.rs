//! Per-plugin metrics in the CLI: the Prometheus recorder installed before
//! the host opens (so every plugin's handles land in it), its text endpoint
//! on `--metrics-addr`, and the table `run --stats`, `plugboard stats` and
//! the console's `stats` print, read back from the same text.
//!
//! The endpoint listens on a loopback address only: it has no
//! authentication, and it names every loaded plugin. It answers each
//! request with the current text; the series are bounded by the loaded
//! plugins (see `plugboard_host::metrics`).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use plugboard_host::metrics as names;

/// The installed recorder, read back for the table.
#[derive(Clone)]
pub struct Metrics {
    #[cfg(feature = "prometheus")]
    handle: metrics_exporter_prometheus::PrometheusHandle,
}

/// How often the recorder folds recorded times into its summaries (its
/// "upkeep"), so that what it holds between two reads stays bounded.
#[cfg(feature = "prometheus")]
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Checks a `--metrics-addr` before anything is opened.
pub fn check_addr(addr: SocketAddr) -> anyhow::Result<()> {
    if !addr.ip().is_loopback() {
        anyhow::bail!(
            "--metrics-addr {addr}: only a loopback address (127.0.0.1:PORT or [::1]:PORT) is accepted, \
             as the endpoint has no authentication; put a proxy in front of it to expose it further"
        );
    }
    Ok(())
}

impl Metrics {
    /// Installs the Prometheus recorder for this process, and serves its
    /// text on `addr` when given (fails when that address cannot be bound).
    #[cfg(feature = "prometheus")]
    pub fn install(addr: Option<SocketAddr>) -> anyhow::Result<Metrics> {
        use anyhow::Context as _;
        use metrics_exporter_prometheus::PrometheusBuilder;

        let builder = PrometheusBuilder::new().upkeep_timeout(UPKEEP_EVERY);
        let (recorder, handle) = match addr {
            Some(addr) => {
                check_addr(addr)?;
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .context("cannot start the metrics endpoint's runtime")?;
                let (recorder, endpoint) = {
                    let _inside = runtime.enter();
                    builder
                        .with_http_listener(addr)
                        .build()
                        .with_context(|| format!("--metrics-addr {addr}: cannot serve metrics there"))?
                };
                let handle = recorder.handle();
                std::thread::Builder::new()
                    .name("metrics-endpoint".into())
                    .spawn(move || {
                        if let Err(error) = runtime.block_on(endpoint) {
                            eprintln!("warning: the metrics endpoint on {addr} stopped: {error:?}");
                        }
                    })
                    .context("cannot start the metrics endpoint's thread")?;
                (recorder, handle)
            }
            None => {
                let recorder = builder.build_recorder();
                let handle = recorder.handle();
                let upkeep = handle.clone();
                std::thread::Builder::new()
                    .name("metrics-upkeep".into())
                    .spawn(move || {
                        loop {
                            std::thread::sleep(UPKEEP_EVERY);
                            upkeep.run_upkeep();
                        }
                    })
                    .context("cannot start the metrics thread")?;
                (recorder, handle)
            }
        };
        metrics::set_global_recorder(recorder).context("a metrics recorder is already installed")?;
        names::describe();
        Ok(Metrics { handle })
    }

    /// Without the `prometheus` feature there is no recorder to install.
    #[cfg(not(feature = "prometheus"))]
    pub fn install(addr: Option<SocketAddr>) -> anyhow::Result<Metrics> {
        if let Some(addr) = addr {
            check_addr(addr)?;
        }
        anyhow::bail!("this plugboard was built without the `prometheus` feature, so it keeps no metrics")
    }

    /// The metrics now, in the Prometheus text format.
    pub fn text(&self) -> String {
        #[cfg(feature = "prometheus")]
        {
            self.handle.run_upkeep();
            self.handle.render()
        }
        #[cfg(not(feature = "prometheus"))]
        String::new()
    }
}

/// One plugin's row of the table.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Row {
    pub handled: u64,
    pub commands: u64,
    pub errors: u64,
    /// By abuse kind; kinds never seen are left out.
    pub traps: BTreeMap<String, u64>,
    pub denied: u64,
    pub fuel: u64,
    pub memory: f64,
    pub instances: u64,
    pub calls: u64,
    pub seconds: f64,
    pub p50: Option<f64>,
    pub p99: Option<f64>,
}

/// Reads plugboard's per-plugin metrics back from Prometheus text, by
/// plugin id. Lines it does not know are skipped.
pub fn parse(text: &str) -> BTreeMap<String, Row> {
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    for line in text.lines() {
        let Some((name, labels, value)) = sample(line) else {
            continue;
        };
        let Some(plugin) = labels.get("plugin").filter(|_| name.starts_with("plugboard_")) else {
            continue;
        };
        let row = rows.entry(plugin.clone()).or_default();
        let count = value.max(0.0) as u64;
        match name {
            names::EVENTS_HANDLED => row.handled = count,
            names::COMMANDS_RUN => row.commands = count,
            names::ERRORS => row.errors = count,
            names::TRAPS => {
                if count > 0
                    && let Some(kind) = labels.get("kind")
                {
                    row.traps.insert(kind.clone(), count);
                }
            }
            names::DENIED_CALLS => row.denied = count,
            names::FUEL_USED => row.fuel = count,
            names::MEMORY_HIGH_WATER => row.memory = value,
            names::INSTANTIATIONS => row.instances = count,
            _ if name == format!("{}_count", names::CALL_SECONDS) => row.calls = count,
            _ if name == format!("{}_sum", names::CALL_SECONDS) => row.seconds = value,
            names::CALL_SECONDS => match labels.get("quantile").map(String::as_str) {
                Some("0.5") => row.p50 = Some(value),
                Some("0.99") => row.p99 = Some(value),
                _ => {}
            },
            _ => {}
        }
    }
    rows
}

/// One sample line, `name{label="value",...} number`; `None` for comments,
/// blank lines and anything else.
fn sample(line: &str) -> Option<(&str, BTreeMap<String, String>, f64)> {
    if line.starts_with('#') || line.trim().is_empty() {
        return None;
    }
    let (series, value) = line.rsplit_once(' ')?;
    let value: f64 = value.trim().parse().ok()?;
    let (name, labels) = match series.split_once('{') {
        Some((name, rest)) => (name, labels(rest.strip_suffix('}')?)?),
        None => (series, BTreeMap::new()),
    };
    Some((name, labels, value))
}

/// `a="x",b="y"` as a map, with `\"`, `\\` and `\n` unescaped.
fn labels(text: &str) -> Option<BTreeMap<String, String>> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            let (at, c) = chars.next()?;
            match c {
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                '"' => break at,
                c => value.push(c),
            }
        };
        labels.insert(key.trim_start_matches(',').to_string(), value);
        rest = after[end + 1..].trim_start_matches(',');
    }
    Some(labels)
}

/// The table of `rows`, one line per plugin; says so when there is none.
pub fn table(rows: &BTreeMap<String, Row>) -> String {
    if rows.is_empty() {
        return "no plugin has metrics yet (none is loaded)\n".to_string();
    }
    let header = [
        "PLUGIN",
        "HANDLED",
        "COMMANDS",
        "ERRORS",
        "TRAPS",
        "DENIED",
        "FUEL",
        "MEMORY",
        "INSTANCES",
        "CALLS",
        "P50",
        "P99",
        "TIME",
    ];
    let mut lines: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for (plugin, row) in rows {
        let traps: u64 = row.traps.values().sum();
        let traps = match traps {
            0 => "0".to_string(),
            n => {
                let kinds: Vec<String> = row.traps.iter().map(|(k, v)| format!("{k} {v}")).collect();
                format!("{n} ({})", kinds.join(", "))
            }
        };
        lines.push(vec![
            plugin.clone(),
            row.handled.to_string(),
            row.commands.to_string(),
            row.errors.to_string(),
            traps,
            row.denied.to_string(),
            row.fuel.to_string(),
            bytes(row.memory),
            row.instances.to_string(),
            row.calls.to_string(),
            row.p50.map_or("-".into(), seconds),
            row.p99.map_or("-".into(), seconds),
            seconds(row.seconds),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|i| lines.iter().map(|l| l[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for line in lines {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn bytes(n: f64) -> String {
    match n {
        n if n >= (1 << 20) as f64 => format!("{:.1} MiB", n / (1 << 20) as f64),
        n if n >= 1024.0 => format!("{:.1} KiB", n / 1024.0),
        n => format!("{n} B"),
    }
}

fn seconds(s: f64) -> String {
    match s {
        s if s >= 1.0 => format!("{s:.2} s"),
        s if s >= 0.001 => format!("{:.2} ms", s * 1e3),
        s => format!("{:.0} µs", s * 1e6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP plugboard_events_handled_total Events the plugin's handler returned Ok for
# TYPE plugboard_events_handled_total counter
plugboard_events_handled_total{plugin="auto-tag"} 3
plugboard_traps_total{plugin="crasher",kind="crash"} 2
plugboard_traps_total{plugin="crasher",kind="memory"} 0
plugboard_memory_high_water_bytes{plugin="auto-tag"} 1179648
plugboard_call_seconds{plugin="auto-tag",quantile="0.5"} 0.00025
plugboard_call_seconds{plugin="auto-tag",quantile="0.99"} 0.0125
plugboard_call_seconds_sum{plugin="auto-tag"} 0.013
plugboard_call_seconds_count{plugin="auto-tag"} 3
plugboard_errors_total{plugin="x\"y"} 1
other_metric{plugin="other"} 1
"#;

    #[test]
    fn the_text_format_reads_back_into_rows_by_plugin() {
        let rows = parse(TEXT);
        let auto_tag = &rows["auto-tag"];
        assert_eq!((auto_tag.handled, auto_tag.calls), (3, 3));
        assert_eq!(auto_tag.p99, Some(0.0125));
        assert_eq!(auto_tag.memory, 1_179_648.0);
        assert_eq!(rows["crasher"].traps, BTreeMap::from([("crash".to_string(), 2)]));
        assert_eq!(rows["x\"y"].errors, 1, "escaped label values are read: {rows:?}");
        assert!(!rows.contains_key("other"), "only plugboard's metrics: {rows:?}");
        let table = table(&rows);
        assert!(table.lines().next().unwrap().starts_with("PLUGIN"), "{table}");
        assert!(table.contains("2 (crash 2)"), "{table}");
        assert!(table.contains("1.1 MiB"), "{table}");
    }

    #[test]
    fn a_broken_line_is_skipped_not_a_panic() {
        for line in [
            "name{plugin=\"a} 1",
            "name{plugin} 1",
            "name{plugin=\"a\"} x",
            "{} 1",
            "\\",
        ] {
            let _ = parse(line);
        }
        assert!(parse("name{plugin=\"a 1").is_empty());
    }

    #[test]
    fn only_loopback_addresses_are_served() {
        assert!(check_addr("127.0.0.1:9000".parse().unwrap()).is_ok());
        assert!(check_addr("[::1]:9000".parse().unwrap()).is_ok());
        let error = check_addr("0.0.0.0:9000".parse().unwrap()).unwrap_err().to_string();
        assert!(
            error.contains("--metrics-addr 0.0.0.0:9000") && error.contains("loopback"),
            "{error}"
        );
    }
}
