//! Background jobs: claimed by one process at a time, kept alive by heartbeats and leases, limited
//! per tenant by slots shared through Redis, and adopted by a worker of any process when the
//! process running them stops; and the schedules that start sync runs. What a job does is its
//! kind's (`JobKind`); sync runs are one.
pub mod control;
pub mod due;
pub mod graphql;
pub mod model;
mod runner;
pub mod schedule;
pub mod schedule_store;
pub mod slots;
pub mod store;

pub use model::{JobStatus, JobType};
pub use runner::{JobKind, Jobs, Outcome};
pub use store::finish_job;
