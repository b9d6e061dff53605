//! Synthetic flow for demos and UI tests: a plausible mix of events on all three layers.
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::event::{kinds, Draft, Layer};

/// Starts publishing `rate` events per second for `seconds`; returns how many and until when.
pub fn start(
    telemetry: &super::publisher::Telemetry,
    tenant: Uuid,
    rate: u32,
    seconds: u32,
) -> (u64, DateTime<Utc>) {
    let total = u64::from(rate) * u64::from(seconds);
    let until = Utc::now() + chrono::Duration::seconds(i64::from(seconds));
    let publishers = [
        telemetry.layer(Layer::Aam),
        telemetry.layer(Layer::Dcl),
        telemetry.layer(Layer::Agent),
    ];
    let demo = Uuid::now_v7();
    tokio::spawn(async move {
        // Ticks of 10 ms (or slower for low rates), each publishing its share of the second.
        let ticks_per_sec = rate.min(100);
        let mut tick =
            tokio::time::interval(Duration::from_millis(1000 / u64::from(ticks_per_sec)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut sent = 0u64;
        let mut n = 0u64;
        while sent < total {
            tick.tick().await;
            n += 1;
            // Spread the remainder so every second carries exactly `rate` events.
            let due = (n * u64::from(rate) / u64::from(ticks_per_sec)).min(total);
            while sent < due {
                let layer = (sent % 3) as usize;
                publishers[layer].publish(tenant, draft(layer, sent, demo));
                sent += 1;
            }
        }
    });
    (total, until)
}

fn draft(layer: usize, n: u64, demo: Uuid) -> Draft {
    let data = json!({ "demo": demo.to_string(), "sequence": n });
    match layer {
        0 => Draft::new(
            kinds::RECORDS_READ,
            "connector",
            format!("demo-connector-{}", n % 4),
        )
        .status("RUNNING")
        .message(format!("read a batch of {} records", 100 + n % 900))
        .data(data),
        1 => Draft::new(
            kinds::RECORDS_EMITTED,
            "mapping",
            format!("demo-mapping-{}", n % 12),
        )
        .status(if n % 17 == 0 { "FAILED" } else { "OK" })
        .message("canonical values emitted")
        .data(data),
        _ => Draft::new(kinds::DEMO, "job", format!("demo-job-{}", n % 5))
            .status(if n % 5 == 0 { "SUCCEEDED" } else { "RUNNING" })
            .message("agent step")
            .data(data),
    }
}
