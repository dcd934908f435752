//! The hot path's regression guard (issue #16): heap allocations per request through the
//! data plane, for a fixed workload, against a committed baseline.
//!
//! Time is too noisy on a shared two-core machine to guard with, so this counts instead: a
//! counting global allocator wraps this test process, which runs the data plane in-process
//! (`tollgate_data_plane::start`, as the binaries do); the control plane and the provider mock
//! are the real binaries as child processes, so their allocations are not counted. (With the
//! control plane in-process too, its usage ingest batches by timing and the count moved by
//! ±30 % between runs; the data plane alone repeats within 1 %.) Each workload sends the same
//! requests sequentially once straight to the mock and once through the data plane; the
//! difference divided by the request count is what the data plane allocates per request,
//! background ticks included (an idle data plane's are printed beside the table). A change that
//! adds work per request, such as a per-attempt body clone or a metric name formatted per
//! request, moves it past the tolerance.
//!
//! After an intended change, rewrite the baseline and commit it with the change:
//! `TOLLGATE_ALLOC_BASELINE=update cargo test -p tollgate-data-plane --test allocations_per_request`.

use std::alloc::System;
use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use tokio_util::sync::CancellationToken;

// Counts every allocation of this process (relaxed atomics around the system allocator).
#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const MASTER: &str = "sk-alloc-guard-master";
/// Warm-up requests per workload (connection pools, leases, lazily built caches), then the
/// measured ones.
const WARMUP: u64 = 100;
const MEASURED: u64 = 400;
/// A measured count may move this far from the baseline either way before the test fails:
/// above, the hot path does more work; below, the baseline is stale and should be lowered.
const TOLERANCE: f64 = 0.10;

/// (allocations including reallocations, bytes allocated) so far.
fn counters() -> (u64, u64) {
    let stats = GLOBAL.stats();
    (
        (stats.allocations + stats.reallocations) as u64,
        (stats.bytes_allocated + stats.bytes_reallocated.max(0) as usize) as u64,
    )
}

/// The workspace's binaries sit beside the directory of this test's executable
/// (`target/<profile>/deps/…`); `cargo test --workspace` builds them first.
fn workspace_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("a test executable lives in target/<profile>/deps");
    let path = profile_dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace` (or `cargo test --workspace`) first",
        path.display()
    );
    path
}

/// A child process, killed when the test ends however it ends.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Mock {
    _process: Process,
    port: u16,
}

fn start_mock() -> Mock {
    let mut child = Command::new(workspace_binary("tollgate-mock-provider"))
        .args(["--port", "0", "--no-record"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the mock provider starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("the mock prints its address");
    let port = first
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_matches(|c: char| !c.is_ascii_digit()).parse().ok())
        .unwrap_or_else(|| panic!("no port in the mock's first line {first:?}"));
    Mock {
        _process: Process(child),
        port,
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

struct Workload {
    name: &'static str,
    path: &'static str,
    body: Value,
    /// Whether the request goes with the master key (false: the virtual key with limits).
    master: bool,
}

fn workloads() -> Vec<Workload> {
    let chat = json!({"model": "bench", "messages": [{"role": "user", "content": "Say hello in one short sentence."}], "max_tokens": 16});
    let mut stream = chat.clone();
    stream["stream"] = json!(true);
    stream["stream_options"] = json!({"include_usage": true});
    vec![
        Workload {
            name: "chat_json",
            path: "/v1/chat/completions",
            body: chat.clone(),
            master: true,
        },
        Workload {
            name: "chat_stream",
            path: "/v1/chat/completions",
            body: stream,
            master: true,
        },
        Workload {
            name: "embeddings",
            path: "/v1/embeddings",
            body: json!({"model": "bench-embed", "input": "the quick brown fox"}),
            master: true,
        },
        Workload {
            name: "chat_json_virtual_key_with_limits",
            path: "/v1/chat/completions",
            body: chat,
            master: false,
        },
    ]
}

/// The same body sent straight to the mock uses the upstream model name.
fn upstream_body(body: &Value) -> Value {
    let mut body = body.clone();
    let upstream = match body["model"].as_str() {
        Some("bench-embed") => "text-embedding-3-small",
        _ => "gpt-4o-mini",
    };
    body["model"] = json!(upstream);
    body
}

async fn send(client: &reqwest::Client, url: &str, token: &str, body: &Value) {
    let response = client
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("reading {url}: {e}"));
    assert!(
        status.is_success(),
        "POST {url} answered {status}: {}",
        String::from_utf8_lossy(&bytes)
    );
}

/// Allocations (count, bytes) per request for `n` requests.
async fn per_request(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: &Value,
    n: u64,
) -> (f64, f64) {
    let (a0, b0) = counters();
    for _ in 0..n {
        send(client, url, token, body).await;
    }
    let (a1, b1) = counters();
    ((a1 - a0) as f64 / n as f64, (b1 - b0) as f64 / n as f64)
}

fn baseline_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/allocations_baseline.json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocations_per_request_stay_within_the_baseline() {
    let mock = start_mock();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let api_base = format!("http://127.0.0.1:{}/v1", mock.port);
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "model_list:\n  - model_name: bench\n    litellm_params:\n      model: openai/gpt-4o-mini\n      api_base: {api_base}\n      api_key: sk-upstream\n  - model_name: bench-embed\n    litellm_params:\n      model: openai/text-embedding-3-small\n      api_base: {api_base}\n      api_key: sk-upstream\ngeneral_settings:\n  master_key: {MASTER}\n"
        ),
    )
    .expect("config written");

    let cancel = CancellationToken::new();
    let token = "alloc-guard-cluster-token-0123456789".to_string();
    let loopback = |port| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let grpc = loopback(free_port());
    let _control_plane = Process(
        Command::new(workspace_binary("tollgate-control-plane"))
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(dir.path().join("cp"))
            .args(["--grpc-listen", &grpc.to_string()])
            .args(["--http-listen", &loopback(free_port()).to_string()])
            .args(["--cluster-token", &token])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the control plane starts"),
    );
    let data_plane = tollgate_data_plane::start(
        tollgate_data_plane::Options {
            listen: loopback(0),
            port: None,
            control_plane: format!("http://{grpc}"),
            cluster_token: token,
            node_id: Some("alloc-guard".into()),
            state_dir: dir.path().join("dp"),
            tls_ca: None,
            heartbeat_secs: 5,
            usage_buffer_records: 20_000,
            drain_delay: Duration::ZERO,
            in_process_quota: None,
        },
        cancel.clone(),
    )
    .await
    .expect("the data plane starts");
    let gateway = format!("http://{}", data_plane.addr);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .expect("an HTTP client");

    // Start-up (the first snapshot arriving) is not a synchronous contract: wait for it.
    let mut ready = false;
    for _ in 0..200 {
        if let Ok(r) = client
            .get(format!("{gateway}/health/readiness"))
            .send()
            .await
            && r.status().is_success()
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "the data plane never became ready");

    let generated: Value = client
        .post(format!("{gateway}/key/generate"))
        .bearer_auth(MASTER)
        .json(&json!({"models": ["bench"], "rpm_limit": 1_000_000, "tpm_limit": 100_000_000, "max_parallel_requests": 64, "max_budget": 1_000_000.0}))
        .send()
        .await
        .expect("key generate")
        .json()
        .await
        .expect("key generate answers JSON");
    let virtual_key = generated["key"]
        .as_str()
        .expect("a generated key")
        .to_string();

    // Informational: what an idle data plane allocates per second (lease keeper, heartbeats).
    let (idle0, _) = counters();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = counters().0 - idle0;
    let mut measured = BTreeMap::new();
    let mut report = String::from(
        "| workload | allocations / request | bytes / request | baseline | change |\n|---|---|---|---|---|\n",
    );
    let baseline: BTreeMap<String, f64> = std::fs::read_to_string(baseline_path())
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default();
    let mut failures = Vec::new();
    for w in workloads() {
        let token = if w.master { MASTER } else { &virtual_key };
        let direct_url = format!("http://127.0.0.1:{}{}", mock.port, w.path);
        let via_url = format!("{gateway}{}", w.path);
        let upstream = upstream_body(&w.body);
        per_request(&client, &direct_url, "sk-upstream", &upstream, WARMUP).await;
        per_request(&client, &via_url, token, &w.body, WARMUP).await;
        let (direct, direct_bytes) =
            per_request(&client, &direct_url, "sk-upstream", &upstream, MEASURED).await;
        let (via, via_bytes) = per_request(&client, &via_url, token, &w.body, MEASURED).await;
        let added = (via - direct).max(0.0);
        let added_bytes = (via_bytes - direct_bytes).max(0.0);
        let (base, change) = match baseline.get(w.name) {
            Some(b) => (
                format!("{b:.0}"),
                format!("{:+.1} %", (added / b - 1.0) * 100.0),
            ),
            None => ("—".into(), "—".into()),
        };
        report.push_str(&format!(
            "| {} | {added:.0} | {added_bytes:.0} | {base} | {change} |\n",
            w.name
        ));
        if let Some(b) = baseline.get(w.name)
            && (added > b * (1.0 + TOLERANCE) || added < b * (1.0 - TOLERANCE))
        {
            failures.push(format!(
                "{}: {added:.0} allocations per request, baseline {b:.0} (±{:.0} %)",
                w.name,
                TOLERANCE * 100.0
            ));
        }
        measured.insert(w.name.to_string(), added.round());
    }
    cancel.cancel();
    report.push_str(&format!("\nidle data plane: {idle} allocations in 1 s\n"));
    eprintln!("{report}");

    if std::env::var("TOLLGATE_ALLOC_BASELINE").as_deref() == Ok("update") {
        let text = serde_json::to_string_pretty(&measured).expect("a map serializes");
        std::fs::write(baseline_path(), text + "\n").expect("baseline written");
        return;
    }
    assert!(
        !baseline.is_empty(),
        "no baseline at {}: create it with TOLLGATE_ALLOC_BASELINE=update",
        baseline_path().display()
    );
    assert!(
        failures.is_empty(),
        "allocations per request left the baseline:\n{}\n{report}\nIf the change is intended, \
         rewrite the baseline (TOLLGATE_ALLOC_BASELINE=update cargo test -p tollgate --test \
         allocations_per_request) and commit it with the change.",
        failures.join("\n")
    );
}
