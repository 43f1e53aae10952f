//! Encryption of an export with age (<https://age-encryption.org>): `export --encrypt-to`
//! takes a recipient's public key (`age1...`), `migrate --identity` the file holding the
//! matching private key (as `age-keygen` writes it). Each data file is encrypted on its own
//! (`<file>.age`) and read back as a stream, so neither side holds a file in memory.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::str::FromStr;

use anyhow::Context as _;

/// A recipient's public key, checked when the command starts.
#[derive(Clone)]
pub struct Recipient(age::x25519::Recipient);

impl FromStr for Recipient {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        age::x25519::Recipient::from_str(text.trim())
            .map(Recipient)
            .map_err(|e| format!("not an age public key (age1...): {e}"))
    }
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The private keys of an identity file.
pub struct Identity(Vec<age::x25519::Identity>);

impl Identity {
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the identity {}", path.display()))?;
        let keys: Vec<_> = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(age::x25519::Identity::from_str)
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!("{}: not an age identity: {e}", path.display()))?;
        anyhow::ensure!(!keys.is_empty(), "{} holds no age identity", path.display());
        Ok(Self(keys))
    }

    /// A stream of the plain text of an encrypted file.
    pub fn open(&self, path: &Path) -> anyhow::Result<Box<dyn BufRead + Send>> {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let decryptor = age::Decryptor::new(BufReader::new(file))
            .with_context(|| format!("{} is not an age file", path.display()))?;
        let reader = decryptor
            .decrypt(self.0.iter().map(|i| i as &dyn age::Identity))
            .with_context(|| format!("decrypting {} with the identity", path.display()))?;
        Ok(Box::new(BufReader::with_capacity(1 << 16, reader)))
    }
}

/// Encrypts a stream to the recipient; `finish` must be called to write the last block.
pub struct Encrypting<W: Write> {
    writer: age::stream::StreamWriter<W>,
}

impl<W: Write> Encrypting<W> {
    pub fn new(output: W, recipient: &Recipient) -> anyhow::Result<Self> {
        let encryptor =
            age::Encryptor::with_recipients(std::iter::once(&recipient.0 as &dyn age::Recipient))
                .context("age")?;
        let writer = encryptor.wrap_output(output).context("age")?;
        Ok(Self { writer })
    }

    pub fn finish(self) -> anyhow::Result<W> {
        Ok(self.writer.finish()?)
    }
}

impl<W: Write> Write for Encrypting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.writer.flush()
    }
}

/// Opens a data file of a source directory: plain, or `<name>.age` with the identity.
pub fn open_source(
    dir: &Path,
    name: &str,
    identity: Option<&Identity>,
) -> anyhow::Result<Option<Box<dyn BufRead + Send>>> {
    let plain = dir.join(name);
    if plain.exists() {
        let file = File::open(&plain).with_context(|| format!("opening {}", plain.display()))?;
        return Ok(Some(Box::new(BufReader::with_capacity(1 << 16, file))));
    }
    let encrypted = dir.join(format!("{name}.age"));
    if encrypted.exists() {
        let identity = identity.with_context(|| {
            format!(
                "{} is encrypted: give the private key with --identity FILE",
                encrypted.display()
            )
        })?;
        return identity.open(&encrypted).map(Some);
    }
    Ok(None)
}

/// Reads a whole small file (the manifest), plain or encrypted.
pub fn read_small(
    dir: &Path,
    name: &str,
    identity: Option<&Identity>,
) -> anyhow::Result<Option<String>> {
    let Some(mut reader) = open_source(dir, name, identity)? else {
        return Ok(None);
    };
    let mut text = String::new();
    reader.read_to_string(&mut text)?;
    Ok(Some(text))
}
