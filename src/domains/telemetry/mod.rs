//! Live flow telemetry: each layer publishes its events to Redis Streams (one stream per layer
//! and tenant); GraphQL subscriptions read them back with XREAD BLOCK.
pub mod demo;
pub mod event;
pub mod graphql;
pub mod live;
pub mod publisher;
pub mod reader;
