//! `plugboard pack`, `keygen`, `sign` and `verify`: making a plugin archive
//! and checking one, with `plugboard-archive` doing every check; the CLI only
//! says what it found.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use plugboard_archive::{KeyPair, Signature, TrustedKeys, UnpackLimits, Verified};

/// The folder in the config folder whose `.pub` files are the trusted keys
/// when `--trusted-keys` is not given.
pub const TRUSTED_KEYS_FOLDER: &str = "trusted-keys";

/// The folder in the config folder `keygen` writes to when `--out` is not given.
pub const KEYS_FOLDER: &str = "keys";

/// The arguments of `plugboard pack`.
#[derive(Debug, clap::Args)]
pub struct PackArgs {
    /// The plugin folder (plugin.toml and the component it names).
    dir: PathBuf,
    /// Where to write `<id>-<version>.plugin` (default: the current folder).
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
}

/// The arguments of `plugboard keygen`.
#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Where to write `<keyid>.secret` and `<keyid>.pub` (default: `keys/`
    /// in the config folder).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// The arguments of `plugboard sign`.
#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// The archive to sign (a signature it has is replaced).
    archive: PathBuf,
    /// The secret key file `plugboard keygen` wrote (`<keyid>.secret`).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
}

/// The arguments of `plugboard verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The archive to check.
    archive: PathBuf,
    #[command(flatten)]
    trusted: TrustedKeysArg,
}

/// `--trusted-keys DIR`, shared by `verify` and `install`.
#[derive(Debug, clap::Args)]
pub struct TrustedKeysArg {
    /// A folder of `.pub` files whose signatures you trust (default:
    /// `trusted-keys/` in the config folder, when it exists).
    #[arg(long, value_name = "DIR")]
    trusted_keys: Option<PathBuf>,
}

impl TrustedKeysArg {
    /// The keys in the folder given, else in the config folder's
    /// `trusted-keys/` when there is one, else none.
    pub fn load(&self, config_dir: &Path) -> anyhow::Result<TrustedKeys> {
        let default = config_dir.join(TRUSTED_KEYS_FOLDER);
        match &self.trusted_keys {
            Some(dir) => Ok(TrustedKeys::from_dir(dir)?),
            None if default.is_dir() => Ok(TrustedKeys::from_dir(&default)?),
            None => Ok(TrustedKeys::none()),
        }
    }
}

/// Packs a plugin folder and prints the archive's path.
pub fn pack(args: &PackArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let archive = plugboard_archive::pack(&args.dir, &args.out)?;
    println!("{}", archive.display());
    Ok(ExitCode::SUCCESS)
}

/// Makes a key pair and prints its id and files.
pub fn keygen(args: &KeygenArgs, config_dir: &Path) -> anyhow::Result<ExitCode> {
    let out = args.out.clone().unwrap_or_else(|| config_dir.join(KEYS_FOLDER));
    let key = KeyPair::generate()?;
    let files = key.write(&out)?;
    println!("{}", key.key_id());
    eprintln!("secret key: {} (keep it private)", files.secret.display());
    eprintln!(
        "public key: {} (whoever installs your plugins puts it in their trusted keys)",
        files.public.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Signs an archive in place.
pub fn sign(args: &SignArgs) -> anyhow::Result<ExitCode> {
    let key = KeyPair::read_secret(&args.key)?;
    plugboard_archive::sign(&args.archive, &key)?;
    println!("Signed {} with key {}.", args.archive.display(), key.key_id());
    Ok(ExitCode::SUCCESS)
}

/// Checks an archive and prints what it holds and who signed it.
pub fn verify(args: &VerifyArgs, config_dir: &Path) -> anyhow::Result<ExitCode> {
    let trusted = args.trusted.load(config_dir)?;
    let verified = plugboard_archive::verify(&args.archive, &trusted, &UnpackLimits::default())?;
    println!("{}: verified", args.archive.display());
    println!("  id         {}", verified.id());
    println!("  version    {}", verified.version());
    println!("  world      {}", verified.manifest.plugin.api);
    println!("  files ({}):", verified.files.len());
    let width = verified.files.iter().map(|f| f.path.len()).max().unwrap_or(0);
    for file in &verified.files {
        println!("    {:<width$}  {} bytes", file.path, file.size);
    }
    println!("  signature  {}", signer(&verified));
    Ok(ExitCode::SUCCESS)
}

/// Who signed a verified archive, as a user reads it.
pub fn signer(verified: &Verified) -> String {
    match verified.signature {
        Signature::Unsigned => "unsigned".to_string(),
        Signature::Trusted(key_id) => format!("signed by trusted key {key_id}"),
        Signature::UnknownKey(key_id) => {
            format!("signed by unknown key {key_id} (not among your trusted keys, so the signature proves nothing)")
        }
    }
}
