"""The control plane watches its config file and pushes new snapshots; bad edits are refused."""

from __future__ import annotations

import copy
import time

from components import model_names
from expect import assert_status_shape
from harness import holds_for, wait_until

PROPAGATION_LIMIT = 1.0  # seconds from the file write to every data plane listing the change


def upstream_model(c, model_name: str, upstream: str) -> dict:
    return {
        "model_name": model_name,
        "litellm_params": {
            "model": f"openai/{upstream}",
            "api_base": c.mock.api_base,
            "api_key": "os.environ/MOCK_PROVIDER_KEY",
        },
    }


def wait_all_list(c, name: str, written_at: float) -> float:
    """Poll every data plane's /v1/models every 25 ms; return seconds from write until all list ``name``."""
    pending = set(range(len(c.dps)))

    def probe() -> bool:
        for i in list(pending):
            if name in c.dps[i].model_ids():
                pending.discard(i)
        return not pending

    wait_until(probe, timeout=10.0, interval=0.025, desc=f"all data planes to list {name!r}")
    return time.monotonic() - written_at


def chat_echo(dp, model: str, text: str) -> str:
    resp = dp.openai_client().chat.completions.create(model=model, messages=[{"role": "user", "content": text}])
    return resp.choices[0].message.content


def test_config_hot_reload_and_broken_edits(cluster, mock_provider):
    c = cluster(data_planes=2)
    st = c.wait_in_sync()
    assert_status_shape(st)
    v1 = st["snapshot"]["version"]
    assert st["config"]["last_error"] is None

    # --- append a model: every data plane lists it within 1 s
    cfg = copy.deepcopy(c.config)
    cfg["model_list"].append(upstream_model(c, "hot-added", "hot-upstream-model"))
    written_at = c.write_config(cfg)
    elapsed = wait_all_list(c, "hot-added", written_at)
    assert elapsed <= PROPAGATION_LIMIT, (
        f"new model reached both data planes after {elapsed:.3f}s (limit {PROPAGATION_LIMIT}s)"
    )

    for dp in c.dps:
        assert sorted(dp.model_ids()) == sorted(model_names(cfg))
        assert chat_echo(dp, "hot-added", f"hot path {dp.name}") == f"Echo: hot path {dp.name}"
    assert [r["body"]["model"] for r in mock_provider.chat_requests()] == ["hot-upstream-model"] * len(c.dps)

    st = c.wait_in_sync(min_version=v1 + 1)
    assert_status_shape(st)
    v2 = st["snapshot"]["version"]
    assert v2 > v1
    assert st["config"]["last_error"] is None
    for dp in c.dps:
        _, ready = dp.readiness()
        assert (ready["snapshot_version"], ready["snapshot_hash"]) == (v2, st["snapshot"]["content_hash"]), ready
    for n in st["data_planes"]:
        assert n["last_nack_version"] is None and n["last_nack_error"] is None, n
    assert {n["node_id"] for n in st["data_planes"]} == {dp.node_id for dp in c.dps}

    # --- broken YAML: rejected, reported with a line, nothing changes
    good_models = sorted(model_names(cfg))
    c.write_config("model_list:\n  - model_name: broken\n    litellm_params: {model: [unclosed\ngeneral_settings:\n")
    st = wait_until(
        lambda: (s := c.cp.status())["config"]["last_error"] is not None and s,
        timeout=5.0,
        desc="config.last_error to be set after a broken edit",
    )
    assert_status_shape(st)
    assert "line" in st["config"]["last_error"].lower(), st["config"]["last_error"]
    assert st["snapshot"]["version"] == v2

    def still_serving_previous() -> bool:
        return all(sorted(dp.model_ids()) == good_models for dp in c.dps)

    holds_for(still_serving_previous, duration=1.0, desc="data planes serving the previous models")
    st = c.cp.status()
    assert st["snapshot"]["version"] == v2
    assert st["config"]["last_error"] is not None
    for dp in c.dps:
        assert chat_echo(dp, "hot-added", "still here") == "Echo: still here"
    for n in st["data_planes"]:
        assert n["applied_version"] == v2 and n["in_sync"] is True, n

    # --- fix the file: a new version reaches both
    fixed = copy.deepcopy(cfg)
    fixed["model_list"].append(upstream_model(c, "after-fix", "after-fix-upstream"))
    written_at = c.write_config(fixed)
    elapsed = wait_all_list(c, "after-fix", written_at)
    assert elapsed <= PROPAGATION_LIMIT, f"fixed config reached both data planes after {elapsed:.3f}s"
    st = c.wait_in_sync(min_version=v2 + 1)
    assert st["config"]["last_error"] is None
    assert st["snapshot"]["version"] > v2
    for dp in c.dps:
        assert sorted(dp.model_ids()) == sorted(model_names(fixed))
        assert chat_echo(dp, "after-fix", "fixed") == "Echo: fixed"


def test_config_wrong_type_is_rejected(cluster, mock_provider):
    c = cluster(data_planes=1)
    v1 = c.wait_in_sync()["snapshot"]["version"]
    before = sorted(model_names(c.config))

    # valid YAML, wrong type: model_list must be a list
    bad = copy.deepcopy(c.config)
    bad["model_list"] = "gpt-4o-mini"
    c.write_config(bad)
    st = wait_until(
        lambda: (s := c.cp.status())["config"]["last_error"] is not None and s,
        timeout=5.0,
        desc="config.last_error to be set after a wrong-type edit",
    )
    err = st["config"]["last_error"]
    # Issue #2: the error names the line and the field.
    assert "model_list" in err and "line" in err.lower(), f"error must name both the field and the line: {err!r}"
    assert st["snapshot"]["version"] == v1
    holds_for(
        lambda: sorted(c.dps[0].model_ids()) == before, duration=1.0, desc="data plane serving the previous models"
    )
    assert c.cp.status()["snapshot"]["version"] == v1


def test_sighup_reloads_the_config(cluster, mock_provider):
    """SIGHUP re-reads the file (LiteLLM operators' habit) and never kills the control plane."""
    import os
    import signal

    from harness import wait_until

    c = cluster(data_planes=1)
    before = c.cp.status()["snapshot"]["version"]
    pid = c.cp.proc.pid
    assert pid is not None
    os.kill(pid, signal.SIGHUP)
    wait_until(
        lambda: "SIGHUP: reloading config" in c.cp.proc.stderr_path.read_text(errors="replace") or None,
        timeout=5,
        desc="the control plane logs the SIGHUP reload",
    )
    assert c.cp.proc.running, "SIGHUP must not terminate the control plane"
    # Same file, same content: same version; the data plane still serves.
    assert c.cp.status()["snapshot"]["version"] == before
    assert c.dps[0].model_ids()
