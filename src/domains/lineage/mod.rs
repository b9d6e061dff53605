//! Lineage views over mappings and the pipeline: the grid (one row per mapping, filterable,
//! searchable, sortable) and the tree (connector → entity → field → target).
pub mod export;
pub mod graph;
pub mod graph_graphql;
pub mod graphql;
pub mod grid;
pub mod metrics;
pub mod model;
pub mod service;
pub mod store;
