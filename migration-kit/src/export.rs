//! `nordform export`: every entity streamed from the services' `GET /admin/export/{entity}`
//! into `<entity>.ndjson` (or `.ndjson.age`, encrypted to `--encrypt-to`), then `manifest.json`
//! with the count, the file's SHA-256 and the entity digest of each. Records are written as the
//! services send them, in their natural-key order, so two exports of the same data are
//! byte-identical; memory is one chunk of the answer plus 32 bytes per record for the digest.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Context as _;
use chrono::Utc;
use indicatif::{MultiProgress, ProgressBar};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::client::ServiceClient;
use crate::crypt::{Encrypting, Recipient};
use crate::digest::EntityDigest;
use crate::entity::{Entity, Service};
use crate::manifest::{FORMAT_VERSION, FileEntry, Manifest};

/// The plain bytes of a file on their way to the disk (encrypted or not), hashed as written.
struct Output {
    sink: Sink,
    sha: Sha256,
    count: u64,
    digest: EntityDigest,
}

enum Sink {
    Plain(BufWriter<File>),
    Encrypted(Box<Encrypting<BufWriter<File>>>),
}

impl Output {
    fn create(dir: &Path, entity: Entity, recipient: Option<&Recipient>) -> anyhow::Result<Self> {
        let name = entity.file_name();
        let sink = match recipient {
            None => Sink::Plain(BufWriter::new(create(&dir.join(&name))?)),
            Some(recipient) => {
                let file = BufWriter::new(create(&dir.join(format!("{name}.age")))?);
                Sink::Encrypted(Box::new(Encrypting::new(file, recipient)?))
            }
        };
        Ok(Self {
            sink,
            sha: Sha256::new(),
            count: 0,
            digest: EntityDigest::new(),
        })
    }

    fn record(&mut self, line: &[u8], record: &Value) -> anyhow::Result<()> {
        let writer: &mut dyn Write = match &mut self.sink {
            Sink::Plain(w) => w,
            Sink::Encrypted(w) => w.as_mut(),
        };
        writer.write_all(line)?;
        writer.write_all(b"\n")?;
        self.sha.update(line);
        self.sha.update(b"\n");
        self.count += 1;
        self.digest.add(record);
        Ok(())
    }

    fn finish(self, entity: Entity) -> anyhow::Result<FileEntry> {
        match self.sink {
            Sink::Plain(mut w) => w.flush()?,
            Sink::Encrypted(w) => w.finish()?.flush()?,
        }
        Ok(FileEntry {
            entity: entity.name().to_owned(),
            count: self.count,
            sha256: hex::encode(self.sha.finalize()),
            digest: self.digest.finish(),
        })
    }
}

fn create(path: &Path) -> anyhow::Result<File> {
    File::create(path).with_context(|| format!("creating {}", path.display()))
}

/// Exports every entity of `sources` into `out` and writes the manifest.
pub async fn export(
    sources: &BTreeMap<Service, ServiceClient>,
    out: &Path,
    recipient: Option<&Recipient>,
    progress: &MultiProgress,
) -> anyhow::Result<Manifest> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut installations = Vec::new();
    let mut services: Vec<_> = sources.values().collect();
    services.sort_by_key(|c| c.service);
    for client in &services {
        let installation = client.installation().await?;
        let id = installation
            .get("installationId")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        installations.push(format!("{}:{id}", client.service.name()));
    }
    let mut files = BTreeMap::new();
    for entity in Entity::ORDER {
        let holders: Vec<&ServiceClient> = entity
            .services()
            .iter()
            .filter_map(|s| sources.get(s))
            .collect();
        if holders.is_empty() {
            continue;
        }
        let bar = progress.add(crate::progress::bar(entity.name(), None));
        let mut output = Output::create(out, entity, recipient)?;
        for client in holders {
            stream(client, entity, &mut output, &bar).await?;
        }
        bar.finish();
        files.insert(entity.file_name(), output.finish(entity)?);
    }
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        source_installation: installations.join(","),
        created_at: Utc::now(),
        files,
        encrypted: recipient.is_some(),
    };
    manifest.write(&out.join(crate::manifest::FILE_NAME))?;
    Ok(manifest)
}

async fn stream(
    client: &ServiceClient,
    entity: Entity,
    output: &mut Output,
    bar: &ProgressBar,
) -> anyhow::Result<()> {
    let mut response = client.export(entity).await?;
    let mut pending: Vec<u8> = Vec::new();
    let line_of = |line: &[u8], output: &mut Output| -> anyhow::Result<()> {
        let text = line.strip_suffix(b"\r").unwrap_or(line);
        if text.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let mut record: Value = serde_json::from_slice(text).with_context(|| {
            format!(
                "a line of the {}'s export of {}",
                client.service.name(),
                entity.name()
            )
        })?;
        // Grants say which service they belong to, so one file holds both services'.
        if entity == Entity::Grants
            && let Value::Object(map) = &mut record
            && !map.contains_key("service")
        {
            map.insert(
                "service".into(),
                Value::String(client.service.name().into()),
            );
            output.record(serde_json::to_string(&record)?.as_bytes(), &record)?;
        } else {
            output.record(text, &record)?;
        }
        bar.inc(1);
        Ok(())
    };
    while let Some(chunk) = response
        .chunk()
        .await
        .with_context(|| format!("reading the export of {}", entity.name()))?
    {
        pending.extend_from_slice(&chunk);
        let mut start = 0;
        while let Some(end) = pending[start..].iter().position(|b| *b == b'\n') {
            line_of(&pending[start..start + end], output)?;
            start += end + 1;
        }
        pending.drain(..start);
    }
    if !pending.is_empty() {
        line_of(&pending, output)?;
    }
    Ok(())
}
