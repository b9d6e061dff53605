//! Background jobs: claimed by one process at a time, kept alive by heartbeats and leases, limited
//! per tenant by slots shared through Redis, and resumed by the reaper of any process when the
//! process running them stops. What a job does is its kind's (`JobKind`); sync runs are one.
pub mod model;
mod runner;
pub mod slots;
mod store;

pub use model::JobStatus;
pub use runner::{JobKind, Jobs, Outcome};
pub use store::finish_job;
