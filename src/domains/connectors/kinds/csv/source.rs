//! CSV files (one file, or a directory of `*.csv` files, one entity each), streamed: a file of
//! any size is read a batch at a time on the blocking pool. Rows with the wrong number of
//! fields or undecodable bytes are quarantined with their row number; good rows flow on.
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::domains::connectors::kinds::csv::CsvConfig;
use crate::domains::connectors::source::{
    content_version, Batch, EntitySchema, FieldSchema, Health, Quarantined, Source, SourceError,
    SourceRecord,
};

/// Rows read to infer types and pick samples.
const PROFILE_ROWS: usize = 200;

pub struct CsvSource {
    config: CsvConfig,
    root: PathBuf,
    tenant: Uuid,
}

impl CsvSource {
    pub fn new(config: CsvConfig, root: PathBuf, tenant: Uuid) -> Self {
        Self {
            config,
            root,
            tenant,
        }
    }

    /// The configured path, which must resolve inside the server's file root and outside
    /// other tenants' upload areas.
    fn resolved(&self) -> Result<PathBuf, SourceError> {
        resolve(&self.root, self.tenant, &self.config.path)
    }

    /// Entity name → file.
    fn files(&self) -> Result<Vec<(String, PathBuf)>, SourceError> {
        let path = self.resolved()?;
        let stem = |p: &Path| {
            p.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "records".to_owned())
        };
        if path.is_dir() {
            let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(&path)
                .map_err(|e| SourceError::Unavailable(format!("{}: {e}", self.config.path)))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("csv")))
                .map(|p| (stem(&p), p))
                .collect();
            files.sort();
            Ok(files)
        } else {
            let entity = self.config.entity.clone().unwrap_or_else(|| stem(&path));
            Ok(vec![(entity, path)])
        }
    }

    fn file_for(&self, entity: &str) -> Result<PathBuf, SourceError> {
        self.files()?
            .into_iter()
            .find(|(e, _)| e == entity)
            .map(|(_, p)| p)
            .ok_or_else(|| SourceError::Unavailable(format!("no file for entity {entity}")))
    }
}

/// A tenant's own file area under the file root: the only place its CSV connectors read.
pub fn tenant_dir(root: &Path, tenant: Uuid) -> PathBuf {
    root.join("tenants").join(tenant.to_string())
}

/// Where a tenant's uploaded files live, inside its area.
pub fn uploads_dir(root: &Path, tenant: Uuid) -> PathBuf {
    tenant_dir(root, tenant).join("uploads")
}

/// A connector's path, inside its tenant's area: relative paths resolve against it
/// (`uploads/<name>` is an uploaded file), absolute ones must lie in it. No path (`..`, links,
/// another tenant's id) leads out of it.
pub fn resolve(root: &Path, tenant: Uuid, path: &str) -> Result<PathBuf, SourceError> {
    let root = root
        .canonicalize()
        .map_err(|e| SourceError::Unavailable(format!("file root {}: {e}", root.display())))?;
    let area = tenant_dir(&root, tenant);
    let raw = Path::new(path);
    let joined = if raw.is_absolute() {
        raw.to_path_buf()
    } else {
        area.join(raw)
    };
    let outside = || SourceError::Invalid(format!("{path} is outside this tenant's files"));
    // Judged as written first (so a path that leads out says so even when nothing is there),
    // then as it resolves on disk (links).
    if !lexically_normal(&joined).starts_with(&area) {
        return Err(outside());
    }
    let found = joined.canonicalize().map_err(|_| {
        SourceError::Unavailable(format!("{path}: no such file in this tenant's files"))
    })?;
    if !found.starts_with(&area) {
        return Err(outside());
    }
    Ok(found)
}

/// `a/b/../c` as `a/c`, without asking the file system.
fn lexically_normal(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Reads rows of one file: header first, then data rows decoded into strings.
struct RowReader {
    reader: csv::Reader<BufReader<File>>,
    decode: fn(&[u8]) -> Result<String, String>,
    header: Vec<String>,
    id_column: Option<usize>,
    /// Data rows handed out so far (the 1-based number of the last one).
    row: u64,
    record: csv::ByteRecord,
    /// A headerless file's first line, already read, still to be handed out.
    pending: bool,
}

enum Row {
    Good(SourceRecord),
    Bad(Quarantined),
}

fn utf8(bytes: &[u8]) -> Result<String, String> {
    String::from_utf8(bytes.to_vec())
        .map_err(|e| format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to()))
}

fn windows_1252(bytes: &[u8]) -> Result<String, String> {
    // WHATWG maps latin1 onto windows-1252, a superset for printable text.
    Ok(encoding_rs::WINDOWS_1252
        .decode_without_bom_handling(bytes)
        .0
        .into_owned())
}

/// Repeated column names get a numeric suffix (`email`, `email_2`).
fn dedupe(header: &mut [String]) {
    let mut seen = std::collections::HashSet::new();
    for name in header.iter_mut() {
        let mut candidate = name.clone();
        let mut n = 1;
        while !seen.insert(candidate.to_lowercase()) {
            n += 1;
            candidate = format!("{name}_{n}");
        }
        *name = candidate;
    }
}

impl RowReader {
    fn open(config: &CsvConfig, path: &Path) -> Result<Self, SourceError> {
        let file = File::open(path)
            .map_err(|e| SourceError::Unavailable(format!("{}: {e}", path.display())))?;
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(config.delimiter.as_bytes()[0])
            .quote(config.quote.as_bytes()[0])
            .has_headers(false)
            .flexible(true)
            .from_reader(BufReader::with_capacity(1 << 20, file));
        let decode: fn(&[u8]) -> Result<String, String> =
            if config.encoding.eq_ignore_ascii_case("utf-8") {
                utf8
            } else {
                windows_1252
            };
        let mut first = csv::ByteRecord::new();
        let has_first = reader
            .read_byte_record(&mut first)
            .map_err(|e| SourceError::Invalid(format!("{}: {e}", path.display())))?;
        let mut header: Vec<String> = if config.has_header && has_first {
            first
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    let name = decode(b).unwrap_or_default();
                    let name = name.trim_start_matches('\u{feff}').trim().to_owned();
                    if name.is_empty() {
                        format!("column_{}", i + 1)
                    } else {
                        name
                    }
                })
                .collect()
        } else {
            (1..=first.len()).map(|i| format!("column_{i}")).collect()
        };
        dedupe(&mut header);
        let id_column = match &config.id_column {
            Some(name) => Some(header.iter().position(|h| h == name).ok_or_else(|| {
                SourceError::Invalid(format!("idColumn {name:?} is not a column of the file"))
            })?),
            None => None,
        };
        Ok(Self {
            reader,
            decode,
            header,
            id_column,
            row: 0,
            pending: !config.has_header && has_first,
            record: first,
        })
    }

    /// The next data row, good or quarantined; None at the end of the file.
    fn next(&mut self) -> Result<Option<Row>, SourceError> {
        if self.pending {
            self.pending = false;
        } else {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(true) => {}
                Ok(false) => return Ok(None),
                Err(e) => {
                    // A parse error (an unterminated quote, say) costs its row, not the run;
                    // an I/O error ends the run.
                    if let csv::ErrorKind::Io(io) = e.kind() {
                        return Err(SourceError::Unavailable(io.to_string()));
                    }
                    self.row += 1;
                    return Ok(Some(Row::Bad(Quarantined {
                        position: self.row,
                        reason: format!("unreadable row: {e}"),
                        raw: String::new(),
                    })));
                }
            }
        }
        self.row += 1;
        let raw = || {
            self.record
                .iter()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .collect::<Vec<_>>()
                .join(",")
        };
        let line = self.record.position().map_or(0, |p| p.line());
        if self.record.len() == 1 && self.record.get(0).is_some_and(<[u8]>::is_empty) {
            // A blank line is not a record.
            self.row -= 1;
            return self.next();
        }
        if self.record.len() != self.header.len() {
            return Ok(Some(Row::Bad(Quarantined {
                position: self.row,
                reason: format!(
                    "line {line}: expected {} fields, found {}",
                    self.header.len(),
                    self.record.len()
                ),
                raw: raw(),
            })));
        }
        let mut values = Vec::with_capacity(self.header.len());
        for (name, bytes) in self.header.iter().zip(self.record.iter()) {
            match (self.decode)(bytes) {
                Ok(v) => values.push((name.clone(), v)),
                Err(why) => {
                    return Ok(Some(Row::Bad(Quarantined {
                        position: self.row,
                        reason: format!("line {line}: field {name}: {why}"),
                        raw: raw(),
                    })))
                }
            }
        }
        let id = match self.id_column {
            Some(i) => {
                let id = values[i].1.trim().to_owned();
                if id.is_empty() {
                    return Ok(Some(Row::Bad(Quarantined {
                        position: self.row,
                        reason: format!("line {line}: empty id in column {}", values[i].0),
                        raw: raw(),
                    })));
                }
                id
            }
            None => self.row.to_string(),
        };
        Ok(Some(Row::Good(SourceRecord {
            position: self.row,
            id,
            version: content_version(&values),
            values,
        })))
    }
}

/// Header and first rows → field names, inferred types and a few samples.
fn profile(config: &CsvConfig, entity: String, path: &Path) -> Result<EntitySchema, SourceError> {
    let mut rows = RowReader::open(config, path)?;
    let mut columns: Vec<Vec<String>> = vec![Vec::new(); rows.header.len()];
    let mut seen = 0;
    while seen < PROFILE_ROWS {
        match rows.next()? {
            Some(Row::Good(r)) => {
                for (i, (_, v)) in r.values.into_iter().enumerate() {
                    columns[i].push(v);
                }
                seen += 1;
            }
            Some(Row::Bad(_)) => seen += 1,
            None => break,
        }
    }
    let fields = rows
        .header
        .iter()
        .zip(columns)
        .map(|(name, values)| FieldSchema::from_values(name.clone(), &values))
        .collect();
    Ok(EntitySchema { entity, fields })
}

#[async_trait]
impl Source for CsvSource {
    async fn entities(&self) -> Result<Vec<String>, SourceError> {
        Ok(self
            .files()?
            .into_iter()
            .map(|(entity, _)| entity)
            .collect())
    }

    async fn introspect(&self, entity: &str) -> Result<EntitySchema, SourceError> {
        let path = self.file_for(entity)?;
        let config = self.config.clone();
        let entity = entity.to_owned();
        tokio::task::spawn_blocking(move || profile(&config, entity, &path))
            .await
            .map_err(|e| SourceError::Unavailable(format!("reading the file stopped: {e}")))?
    }

    fn read(
        &self,
        entity: &str,
        after_position: u64,
        batch_size: usize,
    ) -> mpsc::Receiver<Result<Batch, SourceError>> {
        let (sender, receiver) = mpsc::channel(2);
        let path = self.file_for(entity);
        let config = self.config.clone();
        tokio::task::spawn_blocking(move || {
            let result = path.and_then(|p| RowReader::open(&config, &p));
            let mut rows = match result {
                Ok(rows) => rows,
                Err(e) => {
                    let _ = sender.blocking_send(Err(e));
                    return;
                }
            };
            let mut batch = Batch::default();
            loop {
                let next = rows.next();
                let row = match next {
                    Ok(Some(row)) => row,
                    Ok(None) => break,
                    Err(e) => {
                        let _ = sender.blocking_send(Err(e));
                        return;
                    }
                };
                let position = match &row {
                    Row::Good(r) => r.position,
                    Row::Bad(q) => q.position,
                };
                if position <= after_position {
                    continue;
                }
                match row {
                    Row::Good(r) => batch.records.push(r),
                    Row::Bad(q) => batch.quarantined.push(q),
                }
                batch.last_position = position;
                if batch.records.len() + batch.quarantined.len() >= batch_size {
                    // The receiver gone means the run stopped: stop reading.
                    if sender
                        .blocking_send(Ok(std::mem::take(&mut batch)))
                        .is_err()
                    {
                        return;
                    }
                }
            }
            if batch.last_position > 0 {
                let _ = sender.blocking_send(Ok(batch));
            }
        });
        receiver
    }

    async fn health(&self, entity: &str) -> Health {
        let path = match self.file_for(entity) {
            Ok(path) => path,
            Err(e) => return Health::failed(e),
        };
        let config = self.config.clone();
        let first = tokio::task::spawn_blocking(move || {
            let mut rows = RowReader::open(&config, &path)?;
            rows.next().map(|row| (rows.header.len(), row.is_some()))
        })
        .await;
        match first {
            Ok(Ok((columns, any))) => Health::read(format!(
                "{entity}: {columns} columns, {} readable",
                if any {
                    "first row"
                } else {
                    "no rows yet, header"
                }
            )),
            Ok(Err(e)) => Health::failed(e),
            Err(e) => Health::failed(format!("reading the file stopped: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(path: &Path) -> CsvConfig {
        serde_json::from_value(
            serde_json::json!({ "path": path.to_string_lossy(), "idColumn": "id" }),
        )
        .unwrap()
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// A file root whose nil tenant's area is the returned directory.
    fn scratch() -> PathBuf {
        let root = std::env::temp_dir().join(format!("csv-source-{}", uuid::Uuid::now_v7()));
        let d = tenant_dir(&root, Uuid::nil());
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn root_of(area: &Path) -> PathBuf {
        area.parent().and_then(Path::parent).unwrap().to_path_buf()
    }

    async fn read_all(source: &CsvSource, entity: &str, after: u64) -> Batch {
        let mut rx = source.read(entity, after, 2);
        let mut all = Batch::default();
        while let Some(b) = rx.recv().await {
            let b = b.unwrap();
            all.records.extend(b.records);
            all.quarantined.extend(b.quarantined);
            all.last_position = b.last_position;
        }
        all
    }

    #[tokio::test]
    async fn bad_rows_are_quarantined_and_good_rows_flow() {
        let dir = scratch();
        let path = write(
            &dir,
            "accounts.csv",
            b"id,name,revenue\n1,Acme,100\n2,Beta\n3,Caf\xe9,7\n\n4,\"Delta, Inc\",9\n,Nobody,1\n",
        );
        let source = CsvSource::new(config(&path), root_of(&dir), Uuid::nil());
        assert_eq!(source.entities().await.unwrap(), ["accounts"]);
        let schema = source.introspect("accounts").await.unwrap();
        assert_eq!(schema.fields[2].data_type, "integer");
        let all = read_all(&source, "accounts", 0).await;
        let ids: Vec<&str> = all.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["1", "4"]);
        assert_eq!(all.records[1].values[1].1, "Delta, Inc");
        let reasons: Vec<(u64, &str)> = all
            .quarantined
            .iter()
            .map(|q| (q.position, q.reason.as_str()))
            .collect();
        assert_eq!(reasons.len(), 3, "{reasons:?}");
        assert!(
            reasons[0].1.contains("expected 3 fields, found 2"),
            "{reasons:?}"
        );
        assert!(reasons[1].1.contains("invalid UTF-8"), "{reasons:?}");
        assert!(reasons[2].1.contains("empty id"), "{reasons:?}");
        // Resuming after row 2 starts at row 3.
        let rest = read_all(&source, "accounts", 2).await;
        assert_eq!(rest.records.len(), 1);
        assert_eq!(rest.quarantined.len(), 2);
    }

    #[tokio::test]
    async fn latin1_files_decode_and_paths_stay_inside_the_root() {
        let dir = scratch();
        let path = write(&dir, "c.csv", b"id;name\n1;Caf\xe9\n");
        let mut cfg = config(&path);
        cfg.delimiter = ";".into();
        cfg.encoding = "latin1".into();
        let source = CsvSource::new(cfg, root_of(&dir), Uuid::nil());
        let all = read_all(&source, "c", 0).await;
        assert_eq!(all.records[0].values[1].1, "Café");
        let root = root_of(&dir);
        let outside = CsvSource::new(config(Path::new("/etc/passwd")), root.clone(), Uuid::nil());
        assert!(matches!(
            outside.entities().await,
            Err(SourceError::Invalid(_))
        ));
        // Another tenant's file, by absolute and by relative path.
        let other = tenant_dir(&root, Uuid::from_u128(7));
        std::fs::create_dir_all(&other).unwrap();
        let theirs = write(&other, "theirs.csv", b"id\n1\n");
        for path in [
            theirs.display().to_string(),
            format!("../{}/theirs.csv", Uuid::from_u128(7)),
        ] {
            let source = CsvSource::new(config(Path::new(&path)), root.clone(), Uuid::nil());
            assert!(
                matches!(source.entities().await, Err(SourceError::Invalid(_))),
                "{path}"
            );
        }
    }
}
