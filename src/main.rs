use clap::{Parser, Subcommand};

use autonomos::config::Settings;
use autonomos::domains::quotas::service as quotas;
use autonomos::startup::Application;
use autonomos::{demo, graphql, infra, observability};

#[derive(Parser)]
#[command(name = "autonomos", about = "AutonomOS GraphQL API server")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default); with `workers.embedded` (default) it also runs sync runs and
    /// schedules.
    Serve,
    /// Run sync runs and start due schedules, serving no API (any number, beside `serve`).
    Worker,
    /// Apply pending database migrations.
    Migrate,
    /// Print the GraphQL schema (SDL), or write it to a file.
    Schema {
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Create the demo tenant if missing and print its login.
    SeedDemo,
    /// Override one tenant's quotas (flags left out keep their value; --reset returns to the
    /// configured defaults first).
    Quota {
        #[arg(long)]
        tenant: uuid::Uuid,
        #[arg(long)]
        connectors: Option<u64>,
        #[arg(long)]
        proposals_per_month: Option<u64>,
        #[arg(long)]
        events_per_hour: Option<u64>,
        #[arg(long)]
        reset: bool,
    },
    /// Re-encrypt every connector secret under the current `auth.secrets_key` (old values are
    /// read with it or any of `auth.previous_secrets_keys`); run after configuring a new key.
    RotateSecretsKey {
        /// Only this tenant's connectors (default: every tenant's).
        #[arg(long)]
        tenant: Option<uuid::Uuid>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    // Everything but printing the schema needs the settings; only serving exports traces.
    let loaded = match command {
        Command::Schema { .. } => None,
        _ => Some(Settings::load()?),
    };
    let otel = loaded
        .as_ref()
        .filter(|_| matches!(command, Command::Serve | Command::Worker))
        .map(|s| &s.otel);
    let _traces = observability::init("info,sqlx=warn,sea_orm=warn", otel)?;
    let settings = || {
        loaded
            .clone()
            .ok_or_else(|| anyhow::anyhow!("settings not loaded"))
    };
    match command {
        Command::Schema { out } => {
            let sdl = graphql::schema::sdl();
            match out {
                Some(path) => std::fs::write(path, sdl)?,
                None => print!("{sdl}"),
            }
        }
        Command::Migrate => {
            let settings = settings()?;
            infra::db::migrate(&settings.database).await?;
            tracing::info!("migrations applied");
        }
        Command::SeedDemo => {
            let settings = settings()?;
            let app = Application::build(settings).await?;
            let outcome = demo::seed(app.services(), &app.state().settings.sync.file_root)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e:?}", e.message()))?;
            let note = match outcome {
                demo::Seeded::Created => "created",
                demo::Seeded::AlreadyThere => "already there",
            };
            println!(
                "demo tenant \"{}\" ({note}): login with email {} and password {}",
                demo::DEMO_TENANT,
                demo::DEMO_EMAIL,
                demo::DEMO_PASSWORD
            );
        }
        Command::Quota {
            tenant,
            connectors,
            proposals_per_month,
            events_per_hour,
            reset,
        } => {
            let settings = settings()?;
            let change = quotas::Override {
                connectors,
                proposals_per_month,
                events_per_hour,
                reset,
            };
            quotas::set_override(&settings.database, tenant, change).await?;
            println!("quotas of tenant {tenant} updated");
        }
        Command::RotateSecretsKey { tenant } => {
            let settings = settings()?;
            let key = autonomos::startup::secrets_key(&settings.auth)?;
            let done = autonomos::domains::connectors::rotation::reseal_all(
                &settings.database,
                &key,
                tenant,
            )
            .await?;
            println!(
                "re-encrypted {} secret(s) of {} connector(s) under the current key",
                done.secrets, done.connectors
            );
        }
        Command::Worker => autonomos::startup::run_worker(settings()?).await?,
        Command::Serve => {
            let settings = settings()?;
            let app = Application::build(settings).await?;
            tracing::info!(
                port = app.port(),
                "serving on http://{}:{}",
                app.state().settings.server.host,
                app.port()
            );
            app.run_until_stopped().await?;
        }
    }
    Ok(())
}
