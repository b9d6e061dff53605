//! Unified records: canonical records of one entity that describe the same real-world thing,
//! linked (keys, Fellegi–Sunter scores, people's decisions) into golden records whose every
//! value names its source.
pub mod aggregate;
pub mod cluster;
pub mod curate;
pub mod golden_store;
pub mod graphql;
pub mod graphql_types;
pub mod learn;
pub mod learn_store;
pub mod live;
pub mod model;
pub mod normalize;
pub mod profile;
pub mod query;
pub mod queue;
pub mod reads;
pub mod related;
pub mod resolve;
pub mod score;
pub mod service;
pub mod store;
pub mod survivorship;
pub mod targets;
