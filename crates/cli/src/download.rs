//! Downloads for the remote catalogue (`install --from URL`, `search --from
//! URL`): HTTP or HTTPS (rustls, with the webpki roots), every download
//! capped in bytes and time, redirects followed only to the same scheme and
//! at most [`MAX_REDIRECTS`] times. Nothing downloaded is trusted: an index
//! is checked entry by entry, an archive against the index's sha256 and
//! then verified (digests, signature) as a local archive is.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use plugboard_manifest::format_byte_size;
use plugboard_registry::{INDEX_FILE_NAME, Index, IndexEntry};
use sha2::{Digest, Sha256};
use ureq::http::Uri;

const MIB: u64 = 1024 * 1024;

/// The largest `index.json` read: 4 MiB, some ten thousand entries.
pub const MAX_INDEX_BYTES: u64 = 4 * MIB;
/// How long connecting to the server may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the whole download of an index may take, redirects included.
pub const INDEX_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the whole download of an archive may take, redirects included.
pub const ARCHIVE_TIMEOUT: Duration = Duration::from_secs(300);
/// The most redirects followed for one download.
pub const MAX_REDIRECTS: usize = 3;

/// Whether a `--from` value is an address rather than a folder.
pub fn is_url(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// A catalogue served over HTTP(S).
pub struct RemoteCatalogue {
    /// The address of its `index.json`.
    pub index_url: String,
}

impl RemoteCatalogue {
    /// The catalogue at `url`: the address of an `index.json`, or of the
    /// folder holding it.
    pub fn new(url: &str) -> RemoteCatalogue {
        let index_url = if url.ends_with(".json") {
            url.to_string()
        } else {
            format!("{}/{INDEX_FILE_NAME}", url.trim_end_matches('/'))
        };
        RemoteCatalogue { index_url }
    }

    /// Downloads and checks the index (at most [`MAX_INDEX_BYTES`], within
    /// [`INDEX_TIMEOUT`]).
    pub fn index(&self) -> anyhow::Result<Index> {
        let mut text = Vec::new();
        fetch(&self.index_url, MAX_INDEX_BYTES, INDEX_TIMEOUT, &mut text, false)?;
        let text = String::from_utf8(text).map_err(|_| anyhow::anyhow!("{}: not UTF-8 text", self.index_url))?;
        Ok(Index::parse(&text, Path::new(&self.index_url))?)
    }

    /// Where the entry's archive is: beside the index.
    pub fn archive_url(&self, entry: &IndexEntry) -> String {
        let base = match self.index_url.rfind('/') {
            Some(slash) => &self.index_url[..=slash],
            None => "",
        };
        format!("{base}{}", percent_encoded(&entry.file))
    }

    /// Downloads the entry's archive into `dir` (at most `max_bytes`,
    /// within [`ARCHIVE_TIMEOUT`], with a progress bar on a terminal) and
    /// checks that its sha256 is the one the index lists; returns the file.
    pub fn download(&self, entry: &IndexEntry, max_bytes: u64, dir: &Path) -> anyhow::Result<PathBuf> {
        let url = self.archive_url(entry);
        let path = dir.join(&entry.file);
        let mut file = std::fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut hashing = Hashing {
            file: &mut file,
            hash: Sha256::new(),
        };
        fetch(&url, max_bytes, ARCHIVE_TIMEOUT, &mut hashing, true)?;
        let found = hex::encode(hashing.hash.finalize());
        file.sync_all()
            .with_context(|| format!("cannot write {}", path.display()))?;
        if found != entry.digest {
            bail!(
                "{url}: its sha256 is {found}, but {} lists {} for {} {}: the archive is not the one the \
                 catalogue lists; nothing was installed",
                self.index_url,
                entry.digest,
                entry.id,
                entry.version
            );
        }
        Ok(path)
    }
}

/// Writes to a file and hashes what it writes.
struct Hashing<'a> {
    file: &'a mut std::fs::File,
    hash: Sha256,
}

impl Write for Hashing<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let written = self.file.write(bytes)?;
        self.hash.update(&bytes[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// A file name as one path segment of an address.
fn percent_encoded(name: &str) -> String {
    let mut out = String::new();
    for byte in name.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'+' => out.push(byte as char),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// Where a redirect from `from` to `location` leads.
fn resolve(from: &Uri, location: &str) -> anyhow::Result<String> {
    let scheme = from.scheme_str().unwrap_or("http");
    let authority = from.authority().map(|a| a.as_str()).unwrap_or_default();
    if is_url(location) || Uri::from_str(location).is_ok_and(|uri| uri.scheme().is_some()) {
        return Ok(location.to_string());
    }
    if location.starts_with("//") {
        return Ok(format!("{scheme}:{location}"));
    }
    if location.starts_with('/') {
        return Ok(format!("{scheme}://{authority}{location}"));
    }
    let path = from.path();
    let folder = &path[..path.rfind('/').map_or(0, |slash| slash + 1)];
    let folder = if folder.is_empty() { "/" } else { folder };
    Ok(format!("{scheme}://{authority}{folder}{location}"))
}

/// Downloads `url` into `sink`: at most `max_bytes` (a larger answer is
/// refused, before reading when its length says so), the whole of it,
/// redirects included, within `timeout`, connecting within
/// [`CONNECT_TIMEOUT`], and at most [`MAX_REDIRECTS`] redirects, each to
/// the scheme of `url`. A body that ends before the length the server
/// announced is refused as broken off.
fn fetch(url: &str, max_bytes: u64, timeout: Duration, sink: &mut dyn Write, progress: bool) -> anyhow::Result<()> {
    let first = Uri::from_str(url).with_context(|| format!("{url}: not an address"))?;
    let scheme = first.scheme_str().unwrap_or_default().to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        bail!("{url}: only http and https addresses are downloaded from");
    }
    let ends = Instant::now() + timeout;
    let mut current = url.to_string();
    let mut redirects = 0;
    let mut response = loop {
        let left = ends.saturating_duration_since(Instant::now());
        if left.is_zero() {
            bail!("{url}: the download took longer than {timeout:?}; nothing was installed");
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(CONNECT_TIMEOUT.min(left)))
            .timeout_global(Some(left))
            .max_redirects(0)
            .http_status_as_error(false)
            .build()
            .into();
        let response = agent.get(&current).call().map_err(|e| match e {
            ureq::Error::Timeout(_) => anyhow::anyhow!("{current}: timed out ({e}); nothing was installed"),
            other => anyhow::anyhow!("{current}: the download failed: {other}"),
        })?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .with_context(|| format!("{current}: answered {status} without a Location to follow"))?;
            let here = Uri::from_str(&current).with_context(|| format!("{current}: not an address"))?;
            let next = resolve(&here, location)?;
            let next_scheme = Uri::from_str(&next)
                .ok()
                .and_then(|u| u.scheme_str().map(str::to_ascii_lowercase))
                .unwrap_or_default();
            if next_scheme != scheme {
                bail!(
                    "{current}: redirects to {}, another scheme than {scheme}; a catalogue is only followed \
                     within its own scheme, so nothing was downloaded",
                    plugboard::display::escaped(&next)
                );
            }
            redirects += 1;
            if redirects > MAX_REDIRECTS {
                bail!("{url}: more than {MAX_REDIRECTS} redirects; nothing was downloaded");
            }
            current = next;
            continue;
        }
        if !status.is_success() {
            bail!("{current}: the server answered {status}");
        }
        break response;
    };

    let announced = response.body().content_length();
    if let Some(length) = announced
        && length > max_bytes
    {
        bail!(
            "{current}: is {} long, more than the {} a download may be; nothing was installed",
            format_byte_size(length),
            format_byte_size(max_bytes)
        );
    }
    let bar = match progress && std::io::stderr().is_terminal() {
        true => {
            let bar = indicatif::ProgressBar::new(announced.unwrap_or(0));
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bytes}/{total_bytes} {wide_bar} {bytes_per_sec}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        }
        false => indicatif::ProgressBar::hidden(),
    };
    let mut reader = response.body_mut().as_reader();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut received: u64 = 0;
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                bar.abandon();
                let of = announced.map(|n| format!(" of {n}")).unwrap_or_default();
                bail!("{current}: the download broke off after {received}{of} bytes ({e}); nothing was installed");
            }
        };
        received += read as u64;
        if received > max_bytes {
            bar.abandon();
            bail!(
                "{current}: is longer than the {} a download may be; nothing was installed",
                format_byte_size(max_bytes)
            );
        }
        sink.write_all(&buffer[..read])
            .context("cannot keep the downloaded bytes")?;
        bar.set_position(received);
    }
    bar.finish_and_clear();
    if let Some(length) = announced
        && received < length
    {
        bail!("{current}: the download broke off after {received} of {length} bytes; nothing was installed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_resolves_against_the_address_it_came_from() {
        let from = Uri::from_str("http://host:8/cat/index.json").unwrap();
        assert_eq!(resolve(&from, "/x/i.json").unwrap(), "http://host:8/x/i.json");
        assert_eq!(resolve(&from, "i2.json").unwrap(), "http://host:8/cat/i2.json");
        assert_eq!(resolve(&from, "//other/i.json").unwrap(), "http://other/i.json");
        assert_eq!(resolve(&from, "https://h/i.json").unwrap(), "https://h/i.json");
    }

    #[test]
    fn an_archive_lies_beside_the_index_its_name_one_segment() {
        let catalogue = RemoteCatalogue::new("https://example.invalid/plugins/");
        assert_eq!(catalogue.index_url, "https://example.invalid/plugins/index.json");
        assert_eq!(percent_encoded("a b?#.plugin"), "a%20b%3F%23.plugin");
    }
}
