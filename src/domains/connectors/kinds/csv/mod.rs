//! CSV files (one file, or a directory of them) from the tenant's own file area.
pub mod config;
pub mod source;

pub use config::CsvConfig;
pub use source::{tenant_dir, uploads_dir, CsvSource};
