# AutonomOS tasks. `just run` serves the API with its services and a demo tenant;
# `just test` runs every check CI runs.
set shell := ["bash", "-euo", "pipefail", "-c"]

# Builds are slow on small machines: keep artefacts outside the clone so clones share them.
export CARGO_TARGET_DIR := env_var_or_default("CARGO_TARGET_DIR", env_var("HOME") + "/.cache/autonomos/target")

# DuckDB's C library, prebuilt (scripts/install-duckdb.sh); binaries carry its path (build.rs).
export DUCKDB_LIB_DIR := env_var_or_default("DUCKDB_LIB_DIR", env_var("HOME") + "/.cache/autonomos/duckdb/1.5.6")

bin := CARGO_TARGET_DIR + "/debug/autonomos"

default: run

# Install (if needed) and start PostgreSQL + pgvector and Redis on loopback; fetch DuckDB
services:
    scripts/install-duckdb.sh
    scripts/services.sh start

# Stop the services this project started
services-stop:
    scripts/services.sh stop

# Serve on http://127.0.0.1:8080 with migrations applied and the demo tenant seeded
run: services
    [ -f frontend/dist/index.html ] || scripts/build-ui.sh
    cargo build --bin autonomos
    {{bin}} migrate
    {{bin}} seed-demo
    {{bin}} serve

# fmt check, clippy -D warnings and every test, on the real services
test: services lint ws-client ui
    AUTONOMOS_ENV=test cargo build --workspace --all-targets
    AUTONOMOS_ENV=test {{bin}} migrate
    AUTONOMOS_ENV=test cargo nextest run --workspace --no-fail-fast

# The proposal and learning tests with Qdrant as the vector tier, e.g. `just test-qdrant http://127.0.0.1:6334`
test-qdrant url: services
    AUTONOMOS_ENV=test AUTONOMOS__VECTORS__BACKEND=qdrant AUTONOMOS__VECTORS__QDRANT__URL={{url}} \
      AUTONOMOS__VECTORS__QDRANT__COLLECTION=autonomos_test_$(date +%s) \
      cargo nextest run --test api proposals llm

# Build the reporting UI (frontend/dist, served at `/`; typed operations generated from schema.graphql)
ui:
    scripts/build-ui.sh

# The graphql-ws npm client the subscription tests drive
ws-client:
    scripts/install-ws-client.sh

# Formatting, lints, and the house rules (scripts/check-architecture.sh)
lint: duckdb
    scripts/check-architecture.sh
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# The prebuilt DuckDB library the build links against
duckdb:
    scripts/install-duckdb.sh

# Regenerate schema.graphql from the code
schema: duckdb
    cargo run -q --bin autonomos -- schema --out schema.graphql

# Benchmarks: print figures and write them to bench/results/
bench: services
    cargo build --release -p autonomos --bin autonomos -p autonomos-bench --bin autonomos-bench
    AUTONOMOS_ENV=test {{CARGO_TARGET_DIR}}/release/autonomos migrate
    AUTONOMOS_ENV=test {{CARGO_TARGET_DIR}}/release/autonomos-bench --out bench/results

# A 1,000,000-row, 25-column CSV through a whole sync run: records/s and peak memory
bench-pipeline rows="1000000": services
    cargo build --release -p autonomos --bin autonomos -p autonomos-bench --bin autonomos-bench
    AUTONOMOS_ENV=test {{CARGO_TARGET_DIR}}/release/autonomos migrate
    AUTONOMOS_ENV=test {{CARGO_TARGET_DIR}}/release/autonomos-bench --suite pipeline --rows {{rows}} --out bench/results

# Lineage views over 1,000,000 mappings (100 connectors) plus 9 more tenants: grid, search, tree, graph, export
bench-lineage rows="1000000": services
    cargo build --release -p autonomos --bin autonomos -p autonomos-bench --bin autonomos-bench
    AUTONOMOS_ENV=test {{CARGO_TARGET_DIR}}/release/autonomos migrate
    AUTONOMOS_ENV=test {{CARGO_TARGET_DIR}}/release/autonomos-bench --suite lineage --rows {{rows}} --out bench/results

# Two overlapping generated CRMs (known truth) through the pipeline, resolution off vs on: records/s, precision/recall/F1, review share, read latency
bench-records rows="1000000": services
    cargo build --release -p autonomos --bin autonomos -p autonomos-bench --bin autonomos-bench
    AUTONOMOS_ENV=test {{CARGO_TARGET_DIR}}/release/autonomos migrate
    AUTONOMOS_ENV=test {{CARGO_TARGET_DIR}}/release/autonomos-bench --suite records --rows {{rows}} --out bench/results

# 1,000 connectors on 1-minute schedules, two worker processes: lateness, duplicates, missed slots
bench-schedules seconds="600": services
    cargo build --release -p autonomos --bin autonomos -p autonomos-bench --bin autonomos-bench
    AUTONOMOS_ENV=test {{CARGO_TARGET_DIR}}/release/autonomos migrate
    AUTONOMOS_ENV=test {{CARGO_TARGET_DIR}}/release/autonomos-bench --suite schedules --seconds {{seconds}} --out bench/results

# 1,000 live subscribers (100 tenants x 10) at 1,000 events/s: latency vs raw Redis, memory per subscriber
bench-telemetry seconds="20": services
    cargo build --release -p autonomos --bin autonomos -p autonomos-bench --bin autonomos-bench
    AUTONOMOS_ENV=test {{CARGO_TARGET_DIR}}/release/autonomos migrate
    AUTONOMOS_ENV=test {{CARGO_TARGET_DIR}}/release/autonomos-bench --suite telemetry --seconds {{seconds}} --out bench/results

# Sustained mixed load (reads + proposal mutations) for `seconds`, with memory over time
bench-load seconds="600": services
    cargo build --release -p autonomos --bin autonomos -p autonomos-bench --bin autonomos-bench
    AUTONOMOS_ENV=test {{CARGO_TARGET_DIR}}/release/autonomos migrate
    AUTONOMOS_ENV=test {{CARGO_TARGET_DIR}}/release/autonomos-bench --suite load --seconds {{seconds}} --out bench/results

# Proposal quality on bench/proposals/devset.json and proposal throughput vs raw embedding
bench-proposals: services
    cargo build --release -p autonomos --bin autonomos -p autonomos-bench --bin autonomos-bench
    AUTONOMOS_ENV=test {{CARGO_TARGET_DIR}}/release/autonomos migrate
    AUTONOMOS_ENV=test {{CARGO_TARGET_DIR}}/release/autonomos-bench --suite proposals --out bench/results
