//! Usage-ingest benchmark: a real control plane (in this process, on
//! PostgreSQL, or on the embedded SQLite default with `--server sqlite`) receives usage batches over the real gRPC `ReportUsage`
//! stream from several simulated data planes; the rate is records stored
//! and acknowledged per second.
//!
//! ```sh
//! cargo run --release -p tollgate-control-plane --example ingest_bench -- \
//!     --records 200000 --streams 2 --batch-size 500
//! ```
//!
//! On PostgreSQL it creates (and drops) its own database on the given
//! server; on SQLite the database is a file in a temporary directory.

#![allow(clippy::print_stdout)]

use anyhow::Context as _;
use clap::Parser;
use sea_orm::{ConnectionTrait, Database};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tollgate_control_plane::Options;
use tollgate_proto::v1::usage_reporting_client::UsageReportingClient;
use tollgate_proto::v1::{RequestStatus, UsageBatch, UsageRecord};
use tonic::metadata::MetadataValue;

#[derive(Parser)]
struct Args {
    /// A PostgreSQL server URL with rights to create databases, or `sqlite`
    /// for the embedded default (a fresh file in a temporary directory).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    server: String,
    #[arg(long, default_value_t = 200_000)]
    records: usize,
    /// Concurrent usage streams (data planes).
    #[arg(long, default_value_t = 2)]
    streams: usize,
    #[arg(long, default_value_t = 500)]
    batch_size: usize,
    /// Batches queued on each stream ahead of the gRPC sender (acks are not
    /// awaited between batches; the control plane stores up to 16 of one
    /// stream concurrently).
    #[arg(long, default_value_t = 4)]
    in_flight: usize,
    /// Distinct virtual keys, teams and end users the records spread over.
    #[arg(long, default_value_t = 1_000)]
    keys: usize,
}

/// Where the control plane stores the records.
enum Target {
    Sqlite,
    Postgres {
        admin: sea_orm::DatabaseConnection,
        name: String,
        url: String,
    },
}

impl Target {
    async fn postgres(server: &str) -> anyhow::Result<Self> {
        let name = format!("tollgate_ingest_bench_{}", std::process::id());
        let admin = Database::connect(server).await.context("PostgreSQL")?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await?;
        let base = server
            .rsplit_once('/')
            .map(|(b, _)| b.to_string())
            .context("server URL")?;
        let url = format!("{base}/{name}");
        Ok(Self::Postgres { admin, name, url })
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres { .. } => "PostgreSQL",
        }
    }

    async fn drop(self) -> anyhow::Result<()> {
        if let Self::Postgres { admin, name, .. } = self {
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await?;
        }
        Ok(())
    }
}

const TOKEN: &str = "ingest-bench-cluster-token-0123456789";

fn record(stream: usize, n: usize, keys: usize, now_ms: i64) -> UsageRecord {
    let k = n % keys.max(1);
    UsageRecord {
        request_id: format!("bench-{stream}-{n}"),
        call_type: "acompletion".into(),
        key_hash: format!("{k:064x}"),
        model_group: ["gpt-4o", "gpt-4o-mini", "claude-sonnet"][n % 3].into(),
        deployment_id: "deployment-1".into(),
        provider: "openai".into(),
        api_base: "https://api.openai.com/v1".into(),
        prompt_tokens: 120 + (n % 50) as u64,
        completion_tokens: 40 + (n % 30) as u64,
        status: RequestStatus::Success as i32,
        http_status: 200,
        start_time_ms: now_ms,
        end_time_ms: now_ms + 350,
        first_token_time_ms: now_ms + 120,
        stream: n.is_multiple_of(2),
        end_user: format!("end-user-{}", k % 100),
        cost_picos: 1_234_567 + n as u64,
        cost_known: true,
        key_alias: format!("key-{k}"),
        team_id: format!("team-{}", k % 20),
        user_id: format!("user-{}", k % 50),
        tags: vec!["bench".into()],
        metadata_json: r#"{"job":"bench"}"#.into(),
        overhead_us: 800,
        usage_source: "provider".into(),
        ..UsageRecord::default()
    }
}

fn batches(stream: usize, records: usize, batch_size: usize, keys: usize) -> Vec<UsageBatch> {
    let now_ms = chrono::Utc::now().timestamp_millis();
    (0..records)
        .collect::<Vec<_>>()
        .chunks(batch_size.max(1))
        .enumerate()
        .map(|(i, ns)| UsageBatch {
            batch_id: i as u64,
            node_id: format!("bench-dp-{stream}"),
            records: ns
                .iter()
                .map(|n| record(stream, *n, keys, now_ms))
                .collect(),
        })
        .collect()
}

/// Streams prebuilt batches (record generation is not what is measured)
/// and waits for every ack; returns how many records were stored.
async fn run_stream(
    mut client: UsageReportingClient<tonic::transport::Channel>,
    batches: Vec<UsageBatch>,
    in_flight: usize,
) -> anyhow::Result<u64> {
    let total = batches.len();
    let (tx, rx) = mpsc::channel(in_flight.max(1));
    let mut request = tonic::Request::new(ReceiverStream::new(rx));
    let token: MetadataValue<_> = format!("Bearer {TOKEN}").parse()?;
    request.metadata_mut().insert("authorization", token);
    let mut acks = client.report_usage(request).await?.into_inner();
    // The sender only runs `in_flight` batches ahead: the channel bounds it.
    let sender = tokio::spawn(async move {
        for b in batches {
            if tx.send(b).await.is_err() {
                break;
            }
        }
        // Keep the stream open until every ack has arrived.
        tx
    });
    let mut stored = 0u64;
    for _ in 0..total {
        let ack = acks
            .message()
            .await?
            .context("stream ended before every ack")?;
        stored += u64::from(ack.stored);
    }
    drop(sender.await?);
    Ok(stored)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let target = if args.server == "sqlite" {
        Target::Sqlite
    } else {
        Target::postgres(&args.server).await?
    };
    let db_url = match &target {
        Target::Sqlite => tollgate_control_plane::db::resolve_url(None, None, dir.path()),
        Target::Postgres { url, .. } => url.clone(),
    };

    let config = dir.path().join("litellm_config.yaml");
    std::fs::write(
        &config,
        "model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/gpt-4o-mini\n      mock_response: hi\ngeneral_settings:\n  master_key: sk-bench\n",
    )?;
    let cancel = CancellationToken::new();
    let cp = tollgate_control_plane::start(
        Options {
            config,
            // None on SQLite: the embedded default in the data directory.
            database_url: matches!(target, Target::Postgres { .. }).then(|| db_url.clone()),
            data_dir: dir.path().to_path_buf(),
            grpc_listen: "127.0.0.1:0".parse()?,
            http_listen: "127.0.0.1:0".parse()?,
            cluster_token: TOKEN.into(),
            tls_cert: None,
            tls_key: None,
            coalesce_ms: 50,
            apply_wait: std::time::Duration::from_secs(3),
        },
        cancel.clone(),
    )
    .await?;
    let url = format!("http://{}", cp.grpc_addr);
    let per_stream = args.records / args.streams.max(1);
    let mut prepared = Vec::new();
    for s in 0..args.streams.max(1) {
        prepared.push((
            UsageReportingClient::connect(url.clone()).await?,
            batches(s, per_stream, args.batch_size, args.keys),
        ));
    }

    let started = Instant::now();
    let mut tasks = Vec::new();
    for (client, batches) in prepared {
        tasks.push(tokio::spawn(run_stream(client, batches, args.in_flight)));
    }
    let mut stored = 0;
    for t in tasks {
        stored += t.await??;
    }
    let elapsed = started.elapsed();

    let db = Database::connect(&db_url).await?;
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) FROM spend_logs",
        ))
        .await?
        .context("count")?;
    let in_db: i64 = row.try_get_by_index(0)?;
    let expected = per_stream * args.streams.max(1);
    println!(
        "ingest ({}): {expected} records over {} stream(s), batch {}, {} in flight: {:.2}s, {:.0} records/s (acked {stored}, in spend_logs {in_db})",
        target.name(),
        args.streams,
        args.batch_size,
        args.in_flight,
        elapsed.as_secs_f64(),
        expected as f64 / elapsed.as_secs_f64().max(f64::EPSILON),
    );
    drop(db);
    cancel.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), cp.wait()).await;
    target.drop().await?;
    anyhow::ensure!(
        stored as usize == expected && in_db as usize == expected,
        "lost or doubled records"
    );
    Ok(())
}
