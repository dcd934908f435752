//! What a virtual key costs per request, with 10 and with 100,000 keys in
//! the snapshot: authentication (SHA-256 of the presented key, one map
//! lookup) and admission against fleet-wide limits with a warm lease (the
//! tracking budget meter every key has, plus an rpm limit). Both must not
//! grow with the number of keys.
//!
//! `cargo bench -p tollgate-data-plane --bench keys`

use axum::http::{HeaderMap, HeaderValue, header};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::collections::BTreeMap;
use std::hint::black_box;
use tollgate_data_plane::http::auth::authenticate;
use tollgate_data_plane::limits::{Limiter, QuotaClient, RequestScope, plan};
use tollgate_data_plane::runtime::Runtime;
use tollgate_shared::keys::KeyHash;
use tollgate_shared::snapshot::{Snapshot, VirtualKey};

fn key(i: usize) -> String {
    format!("sk-bench-{i:08}")
}

fn runtime(keys: usize) -> Runtime {
    let yaml = "model_list:\n  - model_name: m\n    litellm_params: {model: openai/m, mock_response: hi}\n";
    let loaded = match tollgate_shared::config::load(yaml, &BTreeMap::new()) {
        Ok(loaded) => loaded,
        Err(e) => panic!("bench config: {e}"),
    };
    let mut snapshot = Snapshot::from_config(&loaded);
    snapshot.keys = (0..keys)
        .map(|i| VirtualKey {
            alias: Some(format!("bench-{i}")),
            models: vec!["m".into()],
            rpm_limit: Some(1_000_000_000),
            ..VirtualKey::unrestricted(KeyHash::of(&key(i)))
        })
        .collect();
    match Runtime::build(&snapshot) {
        Ok(runtime) => runtime,
        Err(e) => panic!("bench runtime: {e}"),
    }
}

fn bench(c: &mut Criterion) {
    let tokio = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(rt) => rt,
        Err(e) => panic!("tokio: {e}"),
    };
    let mut auth = c.benchmark_group("authenticate");
    for n in [10usize, 100_000] {
        let rt = runtime(n);
        let mut headers = HeaderMap::new();
        let bearer = format!("Bearer {}", key(n / 2));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&bearer).unwrap_or(HeaderValue::from_static("")),
        );
        auth.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| black_box(authenticate(black_box(&headers), &rt).is_ok()))
        });
    }
    auth.finish();

    let mut admit = c.benchmark_group("admit_and_settle");
    for n in [10usize, 100_000] {
        let rt = runtime(n);
        let limiter = Limiter::new(QuotaClient::disabled());
        let hash = KeyHash::of(&key(n / 2));
        let Some(k) = rt.key(&hash).cloned() else {
            panic!("bench key missing")
        };
        admit.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                let needs = plan(
                    &rt.limits,
                    &RequestScope {
                        key: Some(&k),
                        end_user: None,
                        model: "m",
                        budget_estimate: 1_000_000,
                    },
                );
                match tokio.block_on(limiter.admit(needs)) {
                    Ok(permit) => permit.settle(20, 900_000),
                    Err(e) => panic!("refused: {e:?}"),
                }
            })
        });
    }
    admit.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
