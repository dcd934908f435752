"""Observability: OTLP traces (span tree, GenAI attributes, W3C propagation to the
provider), trace ids in /spend/logs, and Prometheus /metrics on both planes.

The OTLP receiver (otlp_receiver.py) stands in for Jaeger. Export is asynchronous
(batched), so the tests wait for spans to arrive; everything else is synchronous.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from components import ControlPlane
from harness import free_port, wait_until
from otlp_receiver import OtlpReceiver, Span

MSG = [{"role": "user", "content": "trace me"}]


@pytest.fixture
def otlp(monkeypatch):
    with OtlpReceiver() as receiver:
        # Inherited by every process the test starts (harness.child_env).
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
        yield receiver


def traceparent() -> tuple[str, str, str]:
    trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{parent}-01", trace_id, parent


def deployment(name: str, model: str, mock, dep_id: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "model_name": name,
        "litellm_params": {"model": model, "api_base": mock.api_base, "api_key": "os.environ/MOCK_PROVIDER_KEY"},
    }
    if dep_id:
        entry["model_info"] = {"id": dep_id}
    return entry


def start(cluster, mock, router_settings: dict[str, Any] | None = None, extra_models=()):
    c = cluster(data_planes=0, start=False)
    c.write_config(
        {
            "model_list": [
                deployment("gpt-4o-mini", "openai/gpt-4o-mini", mock, "mini-1"),
                deployment("embed", "openai/text-embedding-3-small", mock, "embed-1"),
                *extra_models,
            ],
            "router_settings": router_settings or {},
            "general_settings": {"master_key": c.master_key},
        }
    )
    c.cp.start()
    return c, c.add_data_plane()


def by_name(spans: list[Span], name: str) -> list[Span]:
    return [s for s in spans if s.name == name]


def server_and_attempts(op_model: str):
    def complete(spans: list[Span]) -> bool:
        return bool(by_name(spans, "POST /v1/chat/completions") or by_name(spans, "POST /v1/embeddings")) and bool(
            by_name(spans, op_model)
        )

    return complete


def assert_no_secret(spans: list[Span], *secrets_: str) -> None:
    for s in spans:
        for text in s.all_strings():
            for secret in secrets_:
                assert secret not in text, f"span {s.name} carries a secret"
            assert "Bearer" not in text, f"span {s.name} carries an Authorization value"


def test_chat_span_tree_and_propagation_to_the_provider(otlp, cluster, mock_provider):
    c, dp = start(cluster, mock_provider)
    mock_provider.clear()
    header, trace_id, client_parent = traceparent()
    client = dp.openai_client()
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MSG, extra_headers={"traceparent": header, "tracestate": "vendor=1"}
    )
    answer = raw.parse()
    call_id = raw.headers["x-litellm-call-id"]

    spans = otlp.wait_for_trace(trace_id, server_and_attempts("chat gpt-4o-mini"))
    (server,) = by_name(spans, "POST /v1/chat/completions")
    (attempt,) = by_name(spans, "chat gpt-4o-mini")
    assert server.service == "tollgate-dataplane"
    assert server.kind == "SERVER" and server.parent_span_id == client_parent
    assert server.attributes["http.route"] == "/v1/chat/completions"
    assert server.attributes["http.request.method"] == "POST"
    assert server.attributes["http.response.status_code"] == 200
    assert server.attributes["tollgate.request_id"] == call_id
    auth = [attrs for name, attrs in server.events if name == "tollgate.auth"]
    assert auth and auth[0]["tollgate.auth.result"] == "ok"

    assert attempt.kind == "CLIENT" and attempt.parent_span_id == server.span_id
    a = attempt.attributes
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.provider.name"] == "openai"
    assert a["gen_ai.request.model"] == "gpt-4o-mini"
    assert a["gen_ai.response.model"] == answer.model
    assert a["gen_ai.response.id"] == answer.id
    assert a["gen_ai.response.finish_reasons"] == '["stop"]'
    assert a["gen_ai.usage.input_tokens"] == answer.usage.prompt_tokens
    assert a["gen_ai.usage.output_tokens"] == answer.usage.completion_tokens
    assert a["server.address"] == "127.0.0.1" and a["server.port"] == int(mock_provider.url.rsplit(":", 1)[1])
    assert a["tollgate.deployment_id"] == "mini-1" and a["tollgate.model_group"] == "gpt-4o-mini"
    assert a["tollgate.attempt"] == 1 and a["tollgate.retry"] is False and a["tollgate.fallback"] is False
    assert "error.type" not in a
    assert "gen_ai.input.messages" not in a, "content only when the operator opts in"

    # The provider's span would be a child of the attempt: same trace, the attempt as parent.
    (received,) = mock_provider.chat_requests()
    sent = received["headers"]["traceparent"]
    assert sent == f"00-{trace_id}-{attempt.span_id}-01"
    assert received["headers"].get("tracestate") == "vendor=1"
    assert_no_secret(spans, c.master_key, c.provider_key)

    # The spend row leads to the trace.
    def spend_row() -> dict[str, Any] | None:
        with dp.http() as h:
            r = h.get("/spend/logs", params={"request_id": call_id}, headers=dp.auth_headers())
        rows = r.json() if r.status_code == 200 else []
        return rows[0] if rows else None

    row = wait_until(spend_row, timeout=10, desc="spend row ingested")
    assert row["metadata"]["trace_id"] == trace_id
    assert row["metadata"]["span_id"] == server.span_id


def test_unsampled_request_exports_nothing_and_still_propagates(otlp, cluster, mock_provider):
    """A caller's unsampled trace (flags 00, parent-based sampling): no span of it is built or
    exported, the provider still receives the trace unsampled; a sampled request after it gets its
    whole tree (so the unsampled one had its chance to arrive)."""
    c, dp = start(cluster, mock_provider)
    mock_provider.clear()
    client = dp.openai_client()
    unsampled_id = secrets.token_hex(16)
    client.chat.completions.create(
        model="gpt-4o-mini", messages=MSG, extra_headers={"traceparent": f"00-{unsampled_id}-{secrets.token_hex(8)}-00"}
    )
    (received,) = mock_provider.chat_requests()
    version, trace_id, parent, flags = received["headers"]["traceparent"].split("-")
    assert (version, trace_id, flags) == ("00", unsampled_id, "00") and len(parent) == 16

    header, sampled_id, _ = traceparent()
    client.chat.completions.create(model="gpt-4o-mini", messages=MSG, extra_headers={"traceparent": header})
    spans = otlp.wait_for_trace(sampled_id, server_and_attempts("chat gpt-4o-mini"))
    assert by_name(spans, "chat gpt-4o-mini"), "the sampled request's attempt span is exported"
    assert otlp.trace(unsampled_id) == [], "nothing of an unsampled trace is exported"


def test_streamed_chat_attempt_has_time_to_first_chunk_and_usage(otlp, cluster, mock_provider):
    c, dp = start(cluster, mock_provider)
    header, trace_id, _ = traceparent()
    chunks = list(
        dp.openai_client().chat.completions.create(
            model="gpt-4o-mini",
            messages=MSG,
            stream=True,
            stream_options={"include_usage": True},
            extra_headers={"traceparent": header},
        )
    )
    usage = chunks[-1].usage
    spans = otlp.wait_for_trace(trace_id, server_and_attempts("chat gpt-4o-mini"))
    (server,) = by_name(spans, "POST /v1/chat/completions")
    (attempt,) = by_name(spans, "chat gpt-4o-mini")
    a = attempt.attributes
    assert a["gen_ai.request.stream"] is True
    assert 0 < a["gen_ai.response.time_to_first_chunk"] < 10
    assert a["gen_ai.usage.input_tokens"] == usage.prompt_tokens
    assert a["gen_ai.usage.output_tokens"] == usage.completion_tokens
    assert a["gen_ai.response.id"] == chunks[0].id
    # The SERVER span lasts until the stream's last byte, the attempt inside it.
    assert server.end_ns >= attempt.end_ns
    assert_no_secret(spans, c.master_key, c.provider_key)


def test_embeddings_span(otlp, cluster, mock_provider):
    c, dp = start(cluster, mock_provider)
    header, trace_id, _ = traceparent()
    dp.openai_client().embeddings.create(model="embed", input="hello", extra_headers={"traceparent": header})
    spans = otlp.wait_for_trace(trace_id, server_and_attempts("embeddings text-embedding-3-small"))
    (server,) = by_name(spans, "POST /v1/embeddings")
    (attempt,) = by_name(spans, "embeddings text-embedding-3-small")
    assert attempt.parent_span_id == server.span_id
    assert attempt.attributes["gen_ai.operation.name"] == "embeddings"
    assert attempt.attributes["gen_ai.usage.input_tokens"] > 0
    embedding_requests = [r for r in mock_provider.requests() if r["path"].endswith("/embeddings")]
    assert embedding_requests[-1]["headers"]["traceparent"] == f"00-{trace_id}-{attempt.span_id}-01"


def test_retry_is_a_sibling_attempt_with_its_own_parent_id(otlp, cluster, mock_provider):
    c, dp = start(
        cluster,
        mock_provider,
        {"num_retries": 1, "cooldown_time": 30},
        extra_models=[deployment("pool", "openai/mock-500", mock_provider, "broken")],
    )
    # Add a healthy deployment to the same group.
    cfg = dict(c.config)
    cfg["model_list"] = [*cfg["model_list"], deployment("pool", "openai/gpt-4o-mini", mock_provider, "healthy")]
    c.write_config(cfg)
    c.wait_in_sync(min_version=2)
    mock_provider.clear()
    header, trace_id, _ = traceparent()
    with dp.http() as h:
        body = {"model": "pool", "messages": MSG}
        # Until the broken one has been tried once: the shuffle may pick the healthy one first.
        for _ in range(20):
            header, trace_id, _ = traceparent()
            r = h.post("/v1/chat/completions", json=body, headers={**dp.auth_headers(), "traceparent": header})
            assert r.status_code == 200
            if r.headers["x-litellm-attempted-retries"] == "1":
                break
        else:
            pytest.fail("the broken deployment was never picked")
    spans = otlp.wait_for_trace(
        trace_id, lambda s: len([x for x in s if x.kind == "CLIENT"]) == 2 and bool(by_name(s, "POST /v1/chat/completions"))
    )
    (server,) = by_name(spans, "POST /v1/chat/completions")
    first, second = sorted([s for s in spans if s.kind == "CLIENT"], key=lambda s: s.start_ns)
    assert first.parent_span_id == second.parent_span_id == server.span_id
    assert first.name == "chat mock-500" and first.attributes["error.type"] == "500" and first.status_code == 2
    assert first.attributes["tollgate.deployment_id"] == "broken"
    assert second.attributes["tollgate.attempt"] == 2 and second.attributes["tollgate.retry"] is True
    assert second.attributes["tollgate.retry_reason"] == "500"
    sent = [q["headers"]["traceparent"] for q in mock_provider.chat_requests()[-2:]]
    assert sent == [f"00-{trace_id}-{first.span_id}-01", f"00-{trace_id}-{second.span_id}-01"]


def test_fallback_attempt_names_where_it_came_from(otlp, cluster, mock_provider):
    c, dp = start(
        cluster,
        mock_provider,
        {"num_retries": 0, "fallbacks": [{"primary": ["gpt-4o-mini"]}]},
        extra_models=[deployment("primary", "openai/mock-500", mock_provider, "primary-1")],
    )
    header, trace_id, _ = traceparent()
    with dp.http() as h:
        r = h.post(
            "/v1/chat/completions",
            json={"model": "primary", "messages": MSG},
            headers={**dp.auth_headers(), "traceparent": header},
        )
    assert r.status_code == 200 and r.headers["x-litellm-attempted-fallbacks"] == "1"
    spans = otlp.wait_for_trace(trace_id, lambda s: bool(by_name(s, "chat gpt-4o-mini")) and bool(by_name(s, "chat mock-500")))
    (failed,) = by_name(spans, "chat mock-500")
    (fallback,) = by_name(spans, "chat gpt-4o-mini")
    assert failed.parent_span_id == fallback.parent_span_id
    assert fallback.attributes["tollgate.fallback"] is True
    assert fallback.attributes["tollgate.fallback_from"] == "primary"
    assert fallback.attributes["tollgate.fallback_reason"] == "error"


def test_refusal_is_on_the_server_span_and_no_provider_is_called(otlp, cluster, mock_provider):
    c, dp = start(cluster, mock_provider)
    mock_provider.clear()
    header, trace_id, parent = traceparent()
    wrong_key = f"sk-wrong-{secrets.token_hex(8)}"
    with dp.http() as h:
        r = h.post(
            "/v1/chat/completions",
            json={"model": "gpt-4o-mini", "messages": MSG},
            headers={"Authorization": f"Bearer {wrong_key}", "traceparent": header},
        )
    assert r.status_code == 401
    spans = otlp.wait_for_trace(trace_id, lambda s: bool(by_name(s, "POST /v1/chat/completions")))
    assert [s.kind for s in spans] == ["SERVER"]
    (server,) = spans
    assert server.parent_span_id == parent
    assert server.attributes["http.response.status_code"] == 401
    events = dict(server.events)
    assert events["tollgate.auth"]["tollgate.auth.result"] == "token_not_found_in_db"
    assert events["tollgate.refusal"]["tollgate.refusal.reason"] == "token_not_found_in_db"
    assert mock_provider.chat_requests() == []
    assert_no_secret(spans, wrong_key, c.master_key, c.provider_key)


def metric_samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def sample(samples, name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in samples.items() if n == name and all(dict(ls).get(k) == val for k, val in labels.items()))


def scrape(base: str, headers: dict[str, str] | None = None) -> dict:
    r = httpx.get(f"{base}/metrics", headers=headers or {}, trust_env=False, timeout=5)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return metric_samples(r.text)


def test_metrics_count_exactly_the_requests_sent_on_both_planes(cluster, mock_provider):
    c, dp = start(cluster, mock_provider)
    before = scrape(dp.base_url)
    cp_before = scrape(c.cp.http_url)
    client = dp.openai_client()
    n = 5
    for _ in range(n):
        client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    client.embeddings.create(model="embed", input="x")
    after = scrape(dp.base_url)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("litellm_requests_metric_total", requested_model="gpt-4o-mini") == n
    assert delta("tollgate_requests_total", tollgate_model_group="gpt-4o-mini", status_class="2xx") == n
    assert delta("litellm_deployment_total_requests_total", model_id="mini-1") == n
    assert delta("litellm_deployment_success_responses_total", model_id="mini-1") == n
    assert delta("gen_ai_client_operation_duration_seconds_count", tollgate_deployment="mini-1") == n
    assert delta("litellm_request_total_latency_metric_count", requested_model="gpt-4o-mini") == n
    assert (
        delta("http_server_request_duration_seconds_count", http_route="/v1/chat/completions", http_response_status_code="200")
        == n
    )
    assert delta("litellm_requests_metric_total", requested_model="embed") == 1
    assert delta("litellm_input_tokens_metric_total", requested_model="gpt-4o-mini") > 0
    assert sample(after, "tollgate_snapshot_version") >= 1
    assert sample(after, "tollgate_controlplane_connected") == 1
    # Budget gauges are the control plane's alone.
    assert not any(n.startswith("litellm_remaining_") for n, _ in after)

    # The control plane counts what it ingested (asynchronously: usage is batched).
    def ingested() -> bool:
        now = scrape(c.cp.http_url)
        stored = sample(now, "tollgate_usage_ingested_total", result="stored") - sample(
            cp_before, "tollgate_usage_ingested_total", result="stored"
        )
        return stored == n + 1 or None

    wait_until(ingested, timeout=10, desc="control plane ingested every record")
    with dp.http() as h:
        r = h.post("/team/new", json={"team_alias": "metered", "max_budget": 12.5}, headers=dp.auth_headers())
    assert r.status_code == 200, r.text
    cp_after = scrape(c.cp.http_url)
    assert sample(cp_after, "litellm_team_max_budget_metric", team_alias="metered") == 12.5
    assert sample(cp_after, "litellm_remaining_team_budget_metric", team_alias="metered") == 12.5
    assert sample(cp_after, "tollgate_dataplanes_connected") == 1
    # The team write returned once applied: both planes serve its version.
    assert sample(cp_after, "tollgate_snapshot_version") == sample(scrape(dp.base_url), "tollgate_snapshot_version")

    # OpenMetrics when asked for.
    r = httpx.get(f"{dp.base_url}/metrics", headers={"Accept": "application/openmetrics-text"}, trust_env=False)
    assert r.headers["content-type"].startswith("application/openmetrics-text")
    assert r.text.endswith("# EOF\n")
    assert "# TYPE litellm_requests_metric counter" in r.text


def test_series_do_not_grow_with_keys_or_junk_models(cluster, mock_provider):
    c, dp = start(cluster, mock_provider)
    client = dp.openai_client()
    client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    with dp.http() as h:
        # One failed request of each kind, so every series the loop can touch exists.
        h.post("/v1/chat/completions", json={"model": "no-such", "messages": MSG}, headers=dp.auth_headers())
        h.post("/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": MSG}, headers={"Authorization": "Bearer sk-x"})
    scrape(dp.base_url)  # the scrape's own route series exist from now on
    before = scrape(dp.base_url)
    with dp.http() as h:
        for i in range(1000):
            # 1,000 distinct keys (unknown ones: refused) and 1,000 junk model names.
            r = h.post(
                "/v1/chat/completions",
                json={"model": f"junk-{i}", "messages": MSG},
                headers={"Authorization": f"Bearer sk-junk-{i}"},
            )
            assert r.status_code == 401
            r = h.post("/v1/chat/completions", json={"model": f"junk-{i}", "messages": MSG}, headers=dp.auth_headers())
            assert r.status_code == 400
    after = scrape(dp.base_url)
    assert set(after) == set(before), sorted(set(after) ^ set(before))[:10]


def test_metrics_can_require_the_master_key(cluster, mock_provider):
    c = cluster(data_planes=0, start=False)
    c.write_config(
        {
            "model_list": [deployment("gpt-4o-mini", "openai/gpt-4o-mini", mock_provider)],
            "general_settings": {"master_key": c.master_key, "require_auth_for_metrics_endpoint": True},
        }
    )
    c.cp.start()
    dp = c.add_data_plane()
    for base in (dp.base_url, c.cp.http_url):
        assert httpx.get(f"{base}/metrics", trust_env=False).status_code == 401
        assert scrape(base, {"Authorization": f"Bearer {c.master_key}"})


def test_management_call_and_usage_ingest_join_the_trace(otlp, cluster, mock_provider):
    c, dp = start(cluster, mock_provider)
    header, trace_id, _ = traceparent()
    with dp.http() as h:
        r = h.post("/key/generate", json={"key_alias": "traced"}, headers={**dp.auth_headers(), "traceparent": header})
    assert r.status_code == 200, r.text
    key = r.json()["key"]
    spans = otlp.wait_for_trace(
        trace_id, lambda s: bool(by_name(s, "tollgate.v1.AdminService/GenerateKey")) and bool(by_name(s, "POST /key/generate"))
    )
    (dp_span,) = by_name(spans, "POST /key/generate")
    (cp_span,) = by_name(spans, "tollgate.v1.AdminService/GenerateKey")
    assert cp_span.service == "tollgate-controlplane" and cp_span.kind == "SERVER"
    assert cp_span.parent_span_id == dp_span.span_id
    # The write's snapshot delta is published inside the call.
    spans = otlp.wait_for_trace(trace_id, lambda s: bool(by_name(s, "tollgate.snapshot.delta")))
    (delta,) = by_name(spans, "tollgate.snapshot.delta")
    assert delta.parent_span_id == cp_span.span_id
    assert [name for name, _ in delta.events] == ["tollgate.snapshot.publish"]
    assert_no_secret(spans, key, c.master_key)

    # The ingest span is a root linked to the request it stored.
    header, trace_id, _ = traceparent()
    dp.openai_client(api_key=key).chat.completions.create(
        model="gpt-4o-mini", messages=MSG, extra_headers={"traceparent": header}
    )
    (server,) = by_name(otlp.wait_for_trace(trace_id, lambda s: bool(by_name(s, "POST /v1/chat/completions"))), "POST /v1/chat/completions")
    ingest = otlp.wait_for(lambda s: s.name == "tollgate.usage.ingest" and (trace_id, server.span_id) in s.links)
    assert ingest.parent_span_id == "" and ingest.trace_id != trace_id
    assert ingest.service == "tollgate-controlplane"
    # The auth event names the key's alias, never the key.
    auth = dict(server.events)["tollgate.auth"]
    assert auth["tollgate.key_alias"] == "traced"
    assert_no_secret([server], key)


def test_json_logs_carry_request_and_trace_ids(monkeypatch, cluster, mock_provider):
    monkeypatch.setenv("JSON_LOGS", "True")
    monkeypatch.setenv("TOLLGATE_E2E_RUST_LOG", "info,tollgate::access=debug")
    c, dp = start(cluster, mock_provider)
    header, trace_id, _ = traceparent()
    raw = dp.openai_client().chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MSG, extra_headers={"traceparent": header}
    )
    call_id = raw.headers["x-litellm-call-id"]

    def access_line() -> dict[str, Any] | None:
        for line in dp.proc.stderr_path.read_text().splitlines():
            if line.startswith("{") and call_id in line:
                entry = json.loads(line)
                if entry.get("fields", {}).get("message") == "request served":
                    return entry
        return None

    entry = wait_until(access_line, timeout=5, desc="the request's access log line")
    assert entry["span"]["request_id"] == call_id
    assert entry["span"]["trace_id"] == trace_id


def test_message_content_only_when_opted_in(otlp, cluster, mock_provider):
    c = cluster(data_planes=0, start=False)
    c.write_config(
        {
            "model_list": [deployment("gpt-4o-mini", "openai/gpt-4o-mini", mock_provider)],
            "litellm_settings": {"turn_off_message_logging": False, "tollgate_otel_capture_content": True},
            "general_settings": {"master_key": c.master_key},
        }
    )
    c.cp.start()
    dp = c.add_data_plane()
    header, trace_id, _ = traceparent()
    dp.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MSG, extra_headers={"traceparent": header})
    spans = otlp.wait_for_trace(trace_id, server_and_attempts("chat gpt-4o-mini"))
    (attempt,) = by_name(spans, "chat gpt-4o-mini")
    assert json.loads(attempt.attributes["gen_ai.input.messages"]) == MSG


def content_config(c, mock, litellm_settings: dict[str, Any]) -> None:
    c.write_config(
        {
            "model_list": [deployment("gpt-4o-mini", "openai/gpt-4o-mini", mock)],
            "litellm_settings": litellm_settings,
            "general_settings": {"master_key": c.master_key},
        }
    )


def test_message_content_with_the_genai_variable_covers_answers_and_streams(otlp, monkeypatch, cluster, mock_provider):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    c = cluster(data_planes=0, start=False)
    content_config(c, mock_provider, {})
    c.cp.start()
    dp = c.add_data_plane()
    client = dp.openai_client()
    messages = [{"role": "user", "content": f"capture {secrets.token_hex(4)}"}]

    header, trace_id, _ = traceparent()
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=messages, extra_headers={"traceparent": header})
    (attempt,) = by_name(otlp.wait_for_trace(trace_id, server_and_attempts("chat gpt-4o-mini")), "chat gpt-4o-mini")
    assert json.loads(attempt.attributes["gen_ai.input.messages"]) == messages
    (out,) = json.loads(attempt.attributes["gen_ai.output.messages"])
    assert out["role"] == "assistant" and out["content"] == answer.choices[0].message.content

    header, trace_id, _ = traceparent()
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, stream=True, extra_headers={"traceparent": header}
    )
    text = "".join(ch.choices[0].delta.content or "" for ch in stream if ch.choices)
    assert text
    (attempt,) = by_name(otlp.wait_for_trace(trace_id, server_and_attempts("chat gpt-4o-mini")), "chat gpt-4o-mini")
    assert attempt.attributes["gen_ai.request.stream"] is True
    assert json.loads(attempt.attributes["gen_ai.output.messages"]) == [{"role": "assistant", "content": text}]


@pytest.mark.parametrize(
    "settings, variable",
    [
        ({}, None),  # the default
        ({"turn_off_message_logging": False}, None),  # LiteLLM's default alone is not an opt-in
        ({"turn_off_message_logging": True, "tollgate_otel_capture_content": True}, "true"),  # the kill switch wins
    ],
)
def test_no_message_content_anywhere_unless_opted_in(otlp, monkeypatch, cluster, mock_provider, settings, variable):
    if variable:
        monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", variable)
    c = cluster(data_planes=0, start=False)
    content_config(c, mock_provider, settings)
    c.cp.start()
    dp = c.add_data_plane()
    client = dp.openai_client()
    prompt = f"private {secrets.token_hex(6)}"
    header, trace_id, _ = traceparent()
    answer = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}], extra_headers={"traceparent": header}
    )
    reply = answer.choices[0].message.content
    assert reply
    header2, trace_id2, _ = traceparent()
    streamed = "".join(
        ch.choices[0].delta.content or ""
        for ch in client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": prompt}],
            stream=True,
            extra_headers={"traceparent": header2},
        )
        if ch.choices
    )
    spans = otlp.wait_for_trace(trace_id, server_and_attempts("chat gpt-4o-mini"))
    spans += otlp.wait_for_trace(trace_id2, server_and_attempts("chat gpt-4o-mini"))
    for s in spans:
        assert "gen_ai.input.messages" not in s.attributes and "gen_ai.output.messages" not in s.attributes
        for text in s.all_strings():
            assert prompt not in text and reply not in text and streamed not in text, f"span {s.name} carries content"


def test_litellm_otel_callback_switches_export_on(monkeypatch, cluster, mock_provider):
    """No standard OTLP variable: LiteLLM's `callbacks: ["otel"]` + `OTEL_ENDPOINT` turn it on
    (the data plane when it applies the snapshot)."""
    with OtlpReceiver() as receiver:
        monkeypatch.setenv("OTEL_ENDPOINT", receiver.endpoint)
        monkeypatch.setenv("OTEL_EXPORTER", "otlp_grpc")
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
        c = cluster(data_planes=0, start=False)
        c.write_config(
            {
                "model_list": [deployment("gpt-4o-mini", "openai/gpt-4o-mini", mock_provider)],
                "litellm_settings": {"callbacks": ["otel"]},
                "general_settings": {"master_key": c.master_key},
            }
        )
        c.cp.start()
        dp = c.add_data_plane()
        header, trace_id, _ = traceparent()
        dp.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MSG, extra_headers={"traceparent": header})
        spans = receiver.wait_for_trace(trace_id, server_and_attempts("chat gpt-4o-mini"))
        (server,) = by_name(spans, "POST /v1/chat/completions")
        assert server.service == "tollgate-dataplane"
        # Enabled by the snapshot, the data plane names itself in the resource.
        assert server.resource["service.instance.id"] == dp.node_id


def test_http_protobuf_export(monkeypatch, cluster, mock_provider):
    with OtlpReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
        c, dp = start(cluster, mock_provider)
        header, trace_id, _ = traceparent()
        dp.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MSG, extra_headers={"traceparent": header})
        spans = receiver.wait_for_trace(trace_id, server_and_attempts("chat gpt-4o-mini"))
        (attempt,) = by_name(spans, "chat gpt-4o-mini")
        assert attempt.kind == "CLIENT"


def test_spans_that_cannot_leave_are_counted_and_requests_do_not_wait(monkeypatch, cluster, mock_provider):
    # An exporter with nowhere to go: every batch fails, and is counted as dropped.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "500")
    c, dp = start(cluster, mock_provider)
    client = dp.openai_client(timeout=5.0)
    for _ in range(3):
        client.chat.completions.create(model="gpt-4o-mini", messages=MSG)

    def dropped() -> float | None:
        n = sample(scrape(dp.base_url), "tollgate_otel_dropped_spans_total")
        return n if n >= 6 else None  # 3 × (SERVER + CLIENT)

    wait_until(dropped, timeout=10, desc="failed exports counted as dropped spans")


# ------------------------------------------------------------- control plane: propagation, pool, budgets


def cp_delta(before: dict, after: dict, name: str, **labels: str) -> float:
    return sample(after, name, **labels) - sample(before, name, **labels)


def budget_series(samples: dict, kind: str) -> list[tuple[str, tuple]]:
    """Every sample of LiteLLM's budget gauges of one kind (`api_key`, `user`, `team`)."""
    names = (f"litellm_{kind}_max_budget_metric", f"litellm_remaining_{kind}_budget_metric", f"litellm_{kind}_budget_remaining_hours_metric")
    return [key for key in samples if key[0] in names]


def test_propagation_is_counted_once_per_write_when_every_data_plane_acked(cluster, mock_provider):
    c = cluster(data_planes=0, start=False)
    c.write_config(
        {
            "model_list": [deployment("gpt-4o-mini", "openai/gpt-4o-mini", mock_provider)],
            "general_settings": {"master_key": c.master_key, "database_connection_pool_limit": 4},
        }
    )
    c.cp.start()
    dp, _ = c.add_data_plane(), c.add_data_plane()
    before = scrape(c.cp.http_url)
    n = 3
    with dp.http() as h:
        for i in range(n):
            r = h.post("/key/generate", json={"key_alias": f"spread-{i}", "max_budget": 5}, headers=dp.auth_headers())
            assert r.status_code == 200, r.text
            # Answered once both data planes serve it: its propagation is complete, and counted.
            assert r.headers["x-tollgate-applied"] == "2/2"
    after = scrape(c.cp.http_url)
    assert cp_delta(before, after, "tollgate_snapshot_propagation_seconds_count", kind="delta") == n
    assert cp_delta(before, after, "tollgate_snapshot_propagations_total", kind="delta", result="complete") == n
    for result in ("rejected", "timeout", "no_dataplanes"):
        assert cp_delta(before, after, "tollgate_snapshot_propagations_total", kind="delta", result=result) == 0
    assert cp_delta(before, after, "tollgate_snapshot_propagation_seconds_count", kind="full") == 0
    # Each observation is in a bucket no later than the limit.
    assert cp_delta(before, after, "tollgate_snapshot_propagation_seconds_bucket", kind="delta", le="30") == n
    assert 0 < cp_delta(before, after, "tollgate_snapshot_propagation_seconds_sum", kind="delta") < 3 * n
    assert cp_delta(before, after, "tollgate_snapshot_acks_total", result="ack") == 2 * n

    # The database pool, as configured (general_settings.database_connection_pool_limit).
    assert sample(after, "db_client_connection_max", db_system_name="postgresql") == 4
    used = sample(after, "db_client_connection_count", db_client_connection_state="used", db_system_name="postgresql")
    idle = sample(after, "db_client_connection_count", db_client_connection_state="idle", db_system_name="postgresql")
    assert used >= 0 and idle >= 0 and 1 <= used + idle <= 4

    # Per-key and per-user budget gauges are opt-in: three budgeted keys, no series.
    assert budget_series(after, "api_key") == [] and budget_series(after, "user") == []
    assert not any(dict(labels).get("hashed_api_key") or dict(labels).get("api_key_alias") for _, labels in after)


def test_pool_gauges_on_sqlite(cluster, mock_provider, tmp_path):
    c = cluster(data_planes=0, start=False)
    c.cp = ControlPlane(
        c.harness,
        config_path=c.config_path,
        database_url=f"sqlite://{tmp_path / 'cp.db'}?mode=rwc",
        data_dir=tmp_path / "cp-sqlite",
        cluster_token=c.cluster_token,
        master_key=c.master_key,
        env={"MOCK_PROVIDER_KEY": c.provider_key},
        name="control-plane-sqlite",
    ).start()
    samples = scrape(c.cp.http_url)
    # One connection: SQLite has one writer (db::connect).
    assert sample(samples, "db_client_connection_max", db_system_name="sqlite") == 1
    used = sample(samples, "db_client_connection_count", db_client_connection_state="used", db_system_name="sqlite")
    idle = sample(samples, "db_client_connection_count", db_client_connection_state="idle", db_system_name="sqlite")
    assert used + idle == 1
    assert sample(samples, "db_client_connection_max", db_system_name="postgresql") == 0


def test_budget_gauges_per_key_and_user_when_opted_in(cluster, mock_provider):
    c = cluster(data_planes=0, start=False)
    c.write_config(
        {
            "model_list": [deployment("gpt-4o-mini", "openai/gpt-4o-mini", mock_provider)],
            "litellm_settings": {"prometheus_initialize_budget_metrics": True},
            "general_settings": {"master_key": c.master_key},
        }
    )
    c.cp.start()
    # A setting Tollgate acts on: no "not recognised" warning for it.
    assert c.cp.status()["config"]["warnings"] == []
    dp = c.add_data_plane()
    before = scrape(c.cp.http_url)
    with dp.http() as h:
        r = h.post("/user/new", json={"user_id": "budget-user", "max_budget": 7}, headers=dp.auth_headers())
        assert r.status_code == 200, r.text
        r = h.post(
            "/key/generate",
            json={"key_alias": "budgeted", "max_budget": 5, "budget_duration": "1d", "user_id": "budget-user"},
            headers=dp.auth_headers(),
        )
        assert r.status_code == 200, r.text
        key = r.json()["key"]
        # A key without a budget has nothing to watch: no series.
        r = h.post("/key/generate", json={"key_alias": "unlimited"}, headers=dp.auth_headers())
        assert r.status_code == 200, r.text
    raw = dp.openai_client(api_key=key).chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MSG)
    cost = float(raw.headers["x-litellm-response-cost"])
    assert cost > 0

    # Spend reaches the control plane asynchronously (usage is batched).
    def spent() -> float | None:
        with dp.http() as h:
            r = h.get("/key/info", params={"key": key}, headers=dp.auth_headers())
        assert r.status_code == 200, r.text
        return r.json()["info"]["spend"] or None

    assert wait_until(spent, timeout=10, desc="the key's spend stored") == pytest.approx(cost, rel=1e-9)
    after = scrape(c.cp.http_url)
    assert cp_delta(before, after, "tollgate_usage_ingested_total", result="stored") == 1
    hashed = hashlib.sha256(key.encode()).hexdigest()
    labels = {"hashed_api_key": hashed, "api_key_alias": "budgeted"}
    assert sample(after, "litellm_api_key_max_budget_metric", **labels) == 5
    assert sample(after, "litellm_remaining_api_key_budget_metric", **labels) == pytest.approx(5 - cost, rel=1e-9)
    hours = sample(after, "litellm_api_key_budget_remaining_hours_metric", **labels)
    assert 23 < hours <= 24
    assert len(budget_series(after, "api_key")) == 3, "one series per gauge, for the budgeted key only"
    assert not any(dict(ls).get("api_key_alias") == "unlimited" for _, ls in after)
    assert sample(after, "litellm_user_max_budget_metric", user="budget-user") == 7
    assert sample(after, "litellm_remaining_user_budget_metric", user="budget-user") == pytest.approx(7 - cost, rel=1e-9)
    assert key not in scrape_text(c.cp.http_url), "the label is the key's hash, never the key"

    # A deleted key's series goes with it.
    with dp.http() as h:
        r = h.post("/key/delete", json={"keys": [key]}, headers=dp.auth_headers())
        assert r.status_code == 200, r.text
    assert budget_series(scrape(c.cp.http_url), "api_key") == []


def scrape_text(base: str) -> str:
    r = httpx.get(f"{base}/metrics", trust_env=False, timeout=5)
    assert r.status_code == 200, r.text
    return r.text


def test_snapshot_propagation_span_ends_with_the_last_ack(otlp, cluster, mock_provider):
    c, dp = start(cluster, mock_provider)
    dp2 = c.add_data_plane()
    header, trace_id, _ = traceparent()
    with dp.http() as h:
        r = h.post("/key/generate", json={"key_alias": "spread"}, headers={**dp.auth_headers(), "traceparent": header})
    assert r.status_code == 200, r.text
    assert r.headers["x-tollgate-applied"] == "2/2"
    version = int(r.headers["x-tollgate-snapshot-version"])
    spans = otlp.wait_for_trace(trace_id, lambda s: bool(by_name(s, "tollgate.snapshot.propagate")))
    (delta,) = by_name(spans, "tollgate.snapshot.delta")
    (propagate,) = by_name(spans, "tollgate.snapshot.propagate")
    assert propagate.service == "tollgate-controlplane" and propagate.kind == "INTERNAL"
    assert propagate.parent_span_id == delta.span_id
    a = propagate.attributes
    assert a["tollgate.snapshot.version"] == version
    assert a["tollgate.snapshot.delta"] is True
    assert a["tollgate.snapshot.dataplanes"] == 2
    assert a["tollgate.snapshot.acks"] == 2 and a["tollgate.snapshot.nacks"] == 0
    assert a["tollgate.snapshot.result"] == "complete"
    assert propagate.status_code == 0
    acks = [attrs for name, attrs in propagate.events if name == "tollgate.snapshot.ack"]
    assert sorted(e["tollgate.dataplane.node_id"] for e in acks) == sorted([dp.node_id, dp2.node_id])
    for e in acks:
        assert 0 <= e["tollgate.snapshot.elapsed_seconds"] <= (propagate.end_ns - propagate.start_ns) / 1e9
    # It ends with the last ACK, inside the management call that waited for it.
    (call,) = by_name(spans, "tollgate.v1.AdminService/GenerateKey")
    assert call.start_ns <= propagate.start_ns and propagate.end_ns <= call.end_ns

    # A config change: a full snapshot, its build span a root of its own trace.
    c.write_config({**c.config, "model_list": [*c.config["model_list"], deployment("extra", "openai/gpt-4o", mock_provider)]})
    st = c.wait_in_sync(min_version=version + 1)
    full = otlp.wait_for(
        lambda s: s.name == "tollgate.snapshot.propagate"
        and s.attributes.get("tollgate.snapshot.version") == st["snapshot"]["version"]
    )
    assert full.attributes["tollgate.snapshot.delta"] is False
    assert full.attributes["tollgate.snapshot.acks"] == 2 and full.attributes["tollgate.snapshot.result"] == "complete"
    (build,) = [s for s in otlp.trace(full.trace_id) if s.span_id == full.parent_span_id]
    assert build.name == "tollgate.snapshot.build"
