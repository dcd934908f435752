//! The router's decision cost per request: `router::pick` (cooldowns,
//! rpm/tpm limits, health, `order`, then the strategy) over groups of 1, 10
//! and 100 deployments, for each strategy. Every deployment has rpm/tpm
//! limits, so the limit check is measured too; latency and usage are
//! recorded for each deployment first, as in a warm data plane.
//!
//! `cargo bench -p tollgate-data-plane --bench router`

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;
use tollgate_data_plane::router::{self, Context, Cooldowns, Overrides, Stats};
use tollgate_data_plane::runtime::Runtime;
use tollgate_shared::snapshot::Snapshot;

const STRATEGIES: [&str; 5] = [
    "simple-shuffle",
    "least-busy",
    "latency-based-routing",
    "cost-based-routing",
    "usage-based-routing-v2",
];

fn runtime(strategy: &str, deployments: usize) -> Runtime {
    let mut yaml = format!("router_settings: {{routing_strategy: {strategy}}}\nmodel_list:\n");
    for i in 0..deployments {
        yaml.push_str(&format!(
            "  - model_name: pool\n    litellm_params: {{model: openai/m{i}, mock_response: hi, rpm: 1000000, tpm: 1000000000, weight: {w}, input_cost_per_token: {c}, output_cost_per_token: {c}}}\n    model_info: {{id: d{i}}}\n",
            w = 1 + i % 3,
            c = 1e-6 * (1 + i % 7) as f64,
        ));
    }
    let loaded = match tollgate_shared::config::load(&yaml, &BTreeMap::new()) {
        Ok(loaded) => loaded,
        Err(e) => panic!("bench config: {e}"),
    };
    match Runtime::build(&Snapshot::from_config(&loaded)) {
        Ok(runtime) => runtime,
        Err(e) => panic!("bench runtime: {e}"),
    }
}

fn pick(c: &mut Criterion) {
    let mut group = c.benchmark_group("router_pick");
    for strategy in STRATEGIES {
        for n in [1usize, 10, 100] {
            let runtime = runtime(strategy, n);
            let cooldowns = Arc::new(Cooldowns::default());
            let stats = Arc::new(Stats::default());
            for i in 0..n {
                let id = format!("d{i}");
                stats.record_latency(
                    &id,
                    Duration::from_millis(10 + i as u64),
                    Duration::from_secs(3600),
                );
                stats.usage().record_request(&id);
                stats.usage().record(&id, 100 + i as u64);
            }
            let ctx = Context {
                runtime: &runtime,
                cooldowns: &cooldowns,
                stats: &stats,
                overrides: Overrides::default(),
                limiter: None,
            };
            let Some(pool) = runtime.group("pool") else {
                panic!("no pool group");
            };
            group.bench_with_input(BenchmarkId::new(strategy, n), &n, |b, _| {
                b.iter(|| black_box(router::pick(&ctx, black_box(pool))));
            });
        }
    }
    group.finish();
}

criterion_group!(benches, pick);
criterion_main!(benches);
