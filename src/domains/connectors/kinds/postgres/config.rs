use serde::{Deserialize, Serialize};

use crate::domains::connectors::kinds::{Endpoint, KindConfig};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostgresConfig {
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    pub database: String,
    pub user: String,
    #[serde(default)]
    pub password: String,
    #[serde(default = "default_schema")]
    pub schema: String,
    #[serde(default = "default_ssl_mode")]
    pub ssl_mode: String,
    /// Tables to read; all tables of the schema when empty.
    #[serde(default)]
    pub tables: Vec<String>,
}

fn default_port() -> u16 {
    5432
}
fn default_schema() -> String {
    "public".into()
}
fn default_ssl_mode() -> String {
    "prefer".into()
}

impl KindConfig for PostgresConfig {
    fn check(&self) -> Result<(), (String, String)> {
        for (name, value) in [
            ("host", &self.host),
            ("database", &self.database),
            ("user", &self.user),
            ("schema", &self.schema),
        ] {
            if value.trim().is_empty() {
                return Err((name.into(), "must not be empty".into()));
            }
        }
        if self.port == 0 {
            return Err(("port".into(), "must be between 1 and 65535".into()));
        }
        if !["disable", "prefer", "require"].contains(&self.ssl_mode.as_str()) {
            return Err((
                "sslMode".into(),
                "must be disable, prefer or require".into(),
            ));
        }
        Ok(())
    }

    fn secrets(&mut self) -> Vec<&mut String> {
        vec![&mut self.password]
    }

    fn endpoint(&self) -> Option<Endpoint> {
        Some(Endpoint {
            field: "host",
            host: self.host.clone(),
            port: self.port,
        })
    }
}
