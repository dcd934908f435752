"""Data planes keep serving while the control plane is down, and recover when it returns."""

from __future__ import annotations

import openai
import pytest

from expect import assert_openai_error, assert_status_shape
from harness import holds_for, wait_until

RECONNECT_TIMEOUT = 20.0


def chat(dp, text: str) -> str:
    resp = dp.openai_client().chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": text}])
    return resp.choices[0].message.content


def stream_chat(dp, text: str) -> str:
    stream = dp.openai_client().chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}], stream=True
    )
    return "".join(ch.choices[0].delta.content or "" for ch in stream if ch.choices)


def readiness_is(dp, **want) -> dict | None:
    status, body = dp.readiness()
    if status == 200 and all(body.get(k) == v for k, v in want.items()):
        return body
    return None


def test_data_planes_survive_control_plane_loss(cluster, mock_provider):
    c = cluster(data_planes=2)
    dp1, dp2 = c.dps
    version = c.wait_in_sync()["snapshot"]["version"]
    for dp in c.dps:
        body = dp.wait_ready()
        assert body["snapshot_source"] == "control_plane" and body["control_plane"] == "connected", body
        assert body["snapshot_version"] == version, body

    # --- SIGKILL the control plane: both keep serving
    c.cp.kill()
    for dp in c.dps:
        assert chat(dp, f"after kill {dp.name}") == f"Echo: after kill {dp.name}"
    for dp in c.dps:
        body = wait_until(
            lambda dp=dp: readiness_is(dp, control_plane="disconnected"),
            timeout=15.0,
            desc=f"{dp.name} readiness to report control_plane=disconnected",
        )
        assert body["status"] == "healthy" and body["snapshot_version"] == version, body
        assert chat(dp, "still serving") == "Echo: still serving"
        assert stream_chat(dp, "streaming too") == "Echo: streaming too"

    # --- restart a data plane while the control plane is down: it serves from disk
    dp2.restart()
    body = dp2.wait_ready()
    assert body["snapshot_source"] == "disk", body
    assert body["snapshot_version"] == version, body
    assert body["control_plane"] == "disconnected", body
    mock_provider.clear()
    assert chat(dp2, "from disk") == "Echo: from disk"
    upstream = mock_provider.chat_requests()
    assert len(upstream) == 1
    assert upstream[0]["headers"].get("authorization") == f"Bearer {c.provider_key}", "provider key restored from disk"
    assert upstream[0]["body"]["model"] == "gpt-4o-mini"

    # --- a brand-new data plane (empty state dir) cannot become ready without the control plane
    dp3 = c.add_data_plane(wait_ready=False)  # waits for liveness only

    def not_ready() -> bool:
        status, body = dp3.readiness()
        return status == 503 and body.get("status") == "unhealthy"

    holds_for(not_ready, duration=2.0, desc=f"{dp3.name} readiness 503 without a snapshot")
    with pytest.raises(openai.APIStatusError) as exc:
        dp3.openai_client().chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    assert exc.value.status_code == 503
    assert_openai_error(exc.value.response, 503)
    with dp3.http() as http:
        r = http.post(
            "/v1/chat/completions",
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]},
            headers=dp3.auth_headers(),
        )
    assert_openai_error(r, 503)

    # --- the control plane comes back on the same database: everyone reconnects
    c.cp.start()
    for dp in (dp1, dp2, dp3):
        wait_until(
            lambda dp=dp: readiness_is(dp, control_plane="connected"),
            timeout=RECONNECT_TIMEOUT,
            desc=f"{dp.name} to reconnect to the restarted control plane",
        )
    body = readiness_is(dp3, status="healthy")
    assert body is not None and body["snapshot_source"] == "control_plane", body
    st = c.wait_in_sync([dp1, dp2, dp3])
    assert_status_shape(st)
    assert st["snapshot"]["version"] >= version
    assert chat(dp3, "new node") == "Echo: new node"
    assert chat(dp1, "old node") == "Echo: old node"


def test_key_changes_acked_before_a_crash_are_served_after_it(cluster, mock_provider):
    """Each delta is on disk before its ACK: a data plane SIGKILLed right after a key change and
    restarted with no control plane serves that change (the journal beside the base snapshot)."""
    c = cluster(data_planes=1)
    [dp] = c.dps
    chat_body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    with dp.http() as h:
        keys = []
        for i in range(3):
            r = h.post("/key/generate", json={"key_alias": f"journal-{i}"}, headers=dp.auth_headers())
            assert r.status_code == 200 and r.headers["x-tollgate-applied"] == "1/1", r.text
            keys.append(r.json()["key"])
        r = h.post("/key/block", json={"key": keys[0]}, headers=dp.auth_headers())
        assert r.status_code == 200 and r.headers["x-tollgate-applied"] == "1/1", r.text
        version = int(r.headers["x-tollgate-snapshot-version"])
    # The very moment the write returned: no time for any background save.
    dp.kill()
    c.cp.kill()
    dp.start()
    body = dp.wait_ready()
    assert body["snapshot_source"] == "disk", body
    assert body["snapshot_version"] == version, body
    with dp.http() as h:
        for key in keys[1:]:
            r = h.post("/v1/chat/completions", json=chat_body, headers={"Authorization": f"Bearer {key}"})
            assert r.status_code == 200, r.text
        r = h.post("/v1/chat/completions", json=chat_body, headers={"Authorization": f"Bearer {keys[0]}"})
        assert_openai_error(r, 401)
    # Restarted again (journal compacted into the base at start), still the same state.
    dp.kill()
    dp.start()
    body = dp.wait_ready()
    assert body["snapshot_source"] == "disk" and body["snapshot_version"] == version, body
    with dp.http() as h:
        r = h.post("/v1/chat/completions", json=chat_body, headers={"Authorization": f"Bearer {keys[2]}"})
        assert r.status_code == 200, r.text
