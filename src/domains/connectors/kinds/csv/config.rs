use serde::{Deserialize, Serialize};

use crate::domains::connectors::kinds::KindConfig;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CsvConfig {
    /// Path of the file (or of a directory of files) on the server.
    pub path: String,
    /// Source entity name; defaults to the file name without extension.
    #[serde(default)]
    pub entity: Option<String>,
    #[serde(default = "default_delimiter")]
    pub delimiter: String,
    #[serde(default = "default_quote")]
    pub quote: String,
    #[serde(default = "default_encoding")]
    pub encoding: String,
    #[serde(default = "default_true")]
    pub has_header: bool,
    /// Column holding each record's id; defaults to the row number.
    #[serde(default)]
    pub id_column: Option<String>,
}

fn default_delimiter() -> String {
    ",".into()
}
fn default_quote() -> String {
    "\"".into()
}
fn default_encoding() -> String {
    "utf-8".into()
}
fn default_true() -> bool {
    true
}

const ENCODINGS: &[&str] = &["utf-8", "latin1", "windows-1252"];

impl KindConfig for CsvConfig {
    fn check(&self) -> Result<(), (String, String)> {
        if self.path.trim().is_empty() {
            return Err(("path".into(), "must not be empty".into()));
        }
        for (name, value) in [("delimiter", &self.delimiter), ("quote", &self.quote)] {
            if value.len() != 1 || !value.is_ascii() {
                return Err((name.into(), "must be a single ASCII character".into()));
            }
        }
        if self.delimiter == self.quote {
            return Err(("quote".into(), "must differ from the delimiter".into()));
        }
        if !ENCODINGS.contains(&self.encoding.to_lowercase().as_str()) {
            return Err((
                "encoding".into(),
                format!("must be one of {}", ENCODINGS.join(", ")),
            ));
        }
        Ok(())
    }

    fn secrets(&mut self) -> Vec<&mut String> {
        vec![]
    }
}
