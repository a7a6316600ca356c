//! A catalogue `install --from` and `search --from` read: a folder indexed
//! by `plugboard index`, or the same `index.json` served over HTTP(S)
//! (see `download`). Both resolve `ID@REQ` the same way; an archive of
//! either is checked against the index's sha256 before anything reads it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use plugboard::display::escaped;
use plugboard_registry::{INDEX_FILE_NAME, Index, IndexEntry};
use semver::VersionReq;

use crate::download::{self, RemoteCatalogue};
use crate::grant;

/// Where a catalogue is.
pub enum Catalogue {
    /// A folder of archives and its `index.json`.
    Folder(PathBuf),
    /// An `index.json` served over HTTP(S), its archives beside it.
    Remote(RemoteCatalogue),
}

impl Catalogue {
    /// The catalogue a `--from` value names: an `http://` or `https://`
    /// address, else a folder.
    pub fn new(from: &str) -> Catalogue {
        match download::is_url(from) {
            true => Catalogue::Remote(RemoteCatalogue::new(from)),
            false => Catalogue::Folder(PathBuf::from(from)),
        }
    }

    /// Its index, checked entry by entry.
    pub fn index(&self) -> anyhow::Result<Index> {
        match self {
            Catalogue::Folder(dir) => Ok(Index::read(dir)?),
            Catalogue::Remote(remote) => remote.index(),
        }
    }

    /// Where its index is, for messages.
    pub fn index_name(&self) -> String {
        match self {
            Catalogue::Folder(dir) => dir.join(INDEX_FILE_NAME).display().to_string(),
            Catalogue::Remote(remote) => remote.index_url.clone(),
        }
    }

    /// The entry's archive, its bytes checked against the index's sha256: in
    /// the folder, or downloaded into `downloads` (at most `max_bytes`).
    pub fn archive(&self, entry: &IndexEntry, max_bytes: u64, downloads: &Path) -> anyhow::Result<PathBuf> {
        match self {
            Catalogue::Folder(dir) => Ok(entry.archive_in(dir)?),
            Catalogue::Remote(remote) => remote.download(entry, max_bytes, downloads),
        }
    }

    /// What to do when the index does not describe its archive.
    pub fn reindex_hint(&self) -> String {
        match self {
            Catalogue::Folder(dir) => format!("index the folder again with `plugboard index {}`", dir.display()),
            Catalogue::Remote(_) => "ask whoever serves the catalogue to index it again".to_string(),
        }
    }
}

impl fmt::Display for Catalogue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Catalogue::Folder(dir) => write!(f, "{}", dir.display()),
            Catalogue::Remote(remote) => f.write_str(&remote.index_url),
        }
    }
}

/// The entry of `index` that `wanted` (`ID` or `ID@REQUIREMENT`) names:
/// the highest version matching.
pub fn entry(catalogue: &Catalogue, index: &Index, wanted: &str) -> anyhow::Result<IndexEntry> {
    let (id, requirement) = match wanted.split_once('@') {
        Some((id, requirement)) => (
            id,
            VersionReq::parse(requirement)
                .with_context(|| format!("`{requirement}` is not a version requirement (e.g. ^1.2, >=0.3, =1.0.0)"))?,
        ),
        None => (wanted, VersionReq::STAR),
    };
    grant::check_id(id)?;
    if let Some(entry) = index.resolve(id, &requirement) {
        return Ok(entry.clone());
    }
    let file = catalogue.index_name();
    let versions: Vec<String> = index
        .plugins
        .iter()
        .filter(|entry| entry.id.as_str() == id)
        .map(|entry| entry.version.to_string())
        .collect();
    if versions.is_empty() {
        bail!("{file} lists no plugin `{id}`");
    }
    bail!(
        "{file} lists no version of {id} matching {requirement} (it has {})",
        versions.join(", ")
    )
}

/// The arguments of `plugboard search`.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// What the plugin's id contains (any case).
    text: String,
    /// The catalogue: a folder indexed by `plugboard index`, or the
    /// `http(s)://` address of its index.json (or of the folder serving it).
    #[arg(long, value_name = "DIR|URL")]
    from: String,
}

/// Lists the catalogue's plugins whose id contains the text, newest version
/// first.
pub fn search(args: &SearchArgs) -> anyhow::Result<ExitCode> {
    let catalogue = Catalogue::new(&args.from);
    let index = catalogue.index()?;
    let wanted = args.text.to_lowercase();
    let mut found: Vec<&IndexEntry> = index
        .plugins
        .iter()
        .filter(|entry| entry.id.as_str().contains(&wanted))
        .collect();
    found.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()).then(b.version.cmp(&a.version)));
    println!(
        "{}: {} archive(s) match {:?}",
        catalogue,
        found.len(),
        escaped(&args.text)
    );
    for entry in &found {
        let signer = match &entry.signer {
            Some(key_id) => format!("claims to be signed by key {}", escaped(key_id)),
            None => "unsigned".to_string(),
        };
        println!(
            "  {}  {}  {}  {signer}",
            entry.id.as_str(),
            entry.version,
            escaped(&entry.api)
        );
    }
    if found.is_empty() {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
