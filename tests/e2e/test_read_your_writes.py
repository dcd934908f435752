"""Read-your-writes: a management write is in force on every connected data plane when it returns.

The contract is synchronous, so nothing here waits or polls after a write: the very next
request, on another data plane than the one that took the write, sees it. The one exception
is the partition test's recovery, which waits for a node that was frozen to catch up.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from expect import assert_openai_error
from harness import wait_until

CHAT = {"model": "local-mock", "messages": [{"role": "user", "content": "hi"}]}
ROUNDS = 100


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class Clients:
    """One keep-alive HTTP client per data plane, as a script would hold them."""

    def __init__(self, dps: list[Any]) -> None:
        self.dps = dps
        self.http = [httpx.Client(base_url=dp.base_url, timeout=15.0) for dp in dps]

    def close(self) -> None:
        for h in self.http:
            h.close()

    def admin(self, i: int, path: str, body: dict[str, Any]) -> httpx.Response:
        r = self.http[i].post(path, json=body, headers=self.dps[i].auth_headers())
        assert r.status_code == 200, f"{path}: {r.status_code} {r.text}"
        applied = r.headers.get("x-tollgate-applied")
        assert applied == f"{len(self.dps)}/{len(self.dps)}", f"{path}: x-tollgate-applied {applied!r}"
        return r

    def chat(self, i: int, key: str, **extra: Any) -> httpx.Response:
        return self.http[i].post("/v1/chat/completions", json={**CHAT, **extra}, headers=bearer(key))


@pytest.fixture
def three(cluster):
    c = cluster(data_planes=3)
    clients = Clients(c.dps)
    yield c, clients
    clients.close()


@pytest.mark.timeout(240)
def test_a_fresh_key_works_at_once_on_every_replica(three):
    _, fleet = three
    refused = []
    for i in range(ROUNDS):
        key = fleet.admin(0, "/key/generate", {"key_alias": f"fresh-{i}"}).json()["key"]
        for dp in (1, 2):
            r = fleet.chat(dp, key)
            if r.status_code != 200:
                refused.append((i, dp, r.status_code, r.text[:200]))
    assert refused == [], f"{len(refused)} of {2 * ROUNDS} first uses refused: {refused[:5]}"


@pytest.mark.timeout(240)
def test_a_revoked_key_is_refused_at_once_on_every_replica(three):
    _, fleet = three
    keys = [fleet.admin(0, "/key/generate", {"key_alias": f"doomed-{i}"}).json()["key"] for i in range(ROUNDS)]
    # Each key is known to work everywhere before it is revoked.
    for key in keys[:3]:
        assert [fleet.chat(dp, key).status_code for dp in (0, 1, 2)] == [200, 200, 200]
    accepted = []
    for i, key in enumerate(keys):
        if i % 2 == 0:
            fleet.admin(0, "/key/block", {"key": key})
        else:
            fleet.admin(0, "/key/delete", {"keys": [key]})
        for dp in (1, 2):
            r = fleet.chat(dp, key)
            if r.status_code != 401:
                accepted.append((i, dp, r.status_code))
            else:
                assert_openai_error(r, 401)
    assert accepted == [], f"{len(accepted)} of {2 * ROUNDS} uses of revoked keys not refused: {accepted[:5]}"


def test_every_kind_of_write_is_in_force_when_it_returns(three):
    _, fleet = three
    key = fleet.admin(0, "/key/generate", {}).json()["key"]

    # unblock
    fleet.admin(0, "/key/block", {"key": key})
    assert fleet.chat(1, key).status_code == 401
    fleet.admin(0, "/key/unblock", {"key": key})
    assert fleet.chat(2, key).status_code == 200

    # a changed model list
    fleet.admin(1, "/key/update", {"key": key, "models": ["gpt-4o-mini"]})
    assert_openai_error(fleet.chat(2, key), 403, type="key_model_access_denied")
    fleet.admin(2, "/key/update", {"key": key, "models": []})
    assert fleet.chat(0, key).status_code == 200

    # a changed limit: rpm 1 → the second request, on another replica, is refused
    limited = fleet.admin(0, "/key/generate", {}).json()["key"]
    fleet.admin(0, "/key/update", {"key": limited, "rpm_limit": 1})
    assert fleet.chat(1, limited).status_code == 200
    assert_openai_error(fleet.chat(2, limited), 429)

    # regenerated away: the old key is refused, the new one works
    new_key = fleet.admin(0, "/key/regenerate", {"key": key}).json()["key"]
    assert fleet.chat(1, key).status_code == 401
    assert fleet.chat(2, new_key).status_code == 200

    # expired by update: a one-second duration is in force at once; once the clock passes
    # the `expires` the answer names (a wall-clock moment, not propagation), every replica
    # refuses the key with no further write.
    updated = fleet.admin(0, "/key/update", {"key": new_key, "duration": "1s"}).json()
    assert fleet.chat(1, new_key).status_code == 200
    expires = datetime.fromisoformat(updated["expires"].replace("Z", "+00:00"))
    time.sleep(max(0.0, (expires - datetime.now(timezone.utc)).total_seconds()) + 0.05)
    assert_openai_error(fleet.chat(2, new_key), 401, type="expired_key")

    # teams: a blocked team's key is refused, unblocked it works, deleted it is gone
    team = fleet.admin(0, "/team/new", {"team_alias": "ryw"}).json()["team_id"]
    team_key = fleet.admin(0, "/key/generate", {"team_id": team}).json()["key"]
    assert fleet.chat(2, team_key).status_code == 200
    fleet.admin(1, "/team/block", {"team_id": team})
    assert_openai_error(fleet.chat(2, team_key), 401)
    fleet.admin(1, "/team/unblock", {"team_id": team})
    assert fleet.chat(0, team_key).status_code == 200
    fleet.admin(0, "/team/update", {"team_id": team, "models": ["gpt-4o-mini"]})
    assert_openai_error(fleet.chat(2, team_key), 403)
    fleet.admin(0, "/team/delete", {"team_ids": [team]})
    assert_openai_error(fleet.chat(1, team_key), 401)

    # users: a deleted user's keys go with it
    user = fleet.admin(0, "/user/new", {"user_id": "ryw-user"}).json()["user_id"]
    user_key = fleet.admin(0, "/key/generate", {"user_id": user}).json()["key"]
    assert fleet.chat(1, user_key).status_code == 200
    fleet.admin(2, "/user/update", {"user_id": user, "models": ["gpt-4o-mini"]})
    assert_openai_error(fleet.chat(0, user_key), 403)
    fleet.admin(2, "/user/delete", {"user_ids": [user]})
    assert_openai_error(fleet.chat(0, user_key), 401)

    # a user created with its key (LiteLLM's auto_create_key): the user's model list holds at once
    created = fleet.admin(1, "/user/new", {"user_id": "ryw-narrow", "models": ["gpt-4o-mini"]}).json()
    assert_openai_error(fleet.chat(2, created["key"]), 403)

    # customers (end users): blocked → 400 at once, unblocked → served
    fleet.admin(0, "/customer/new", {"user_id": "ryw-customer"})
    assert fleet.chat(1, key_for_customers := fleet.admin(0, "/key/generate", {}).json()["key"], user="ryw-customer").status_code == 200
    fleet.admin(0, "/customer/block", {"user_ids": ["ryw-customer"]})
    assert_openai_error(fleet.chat(2, key_for_customers, user="ryw-customer"), 400)
    fleet.admin(0, "/customer/unblock", {"user_ids": ["ryw-customer"]})
    assert fleet.chat(1, key_for_customers, user="ryw-customer").status_code == 200


@pytest.mark.timeout(120)
def test_a_frozen_data_plane_does_not_hang_writes_and_is_named(cluster, monkeypatch):
    monkeypatch.setenv("TOLLGATE_APPLY_WAIT", "1s")
    c = cluster(data_planes=3)
    fleet = Clients(c.dps)
    frozen = c.dps[2]
    pid = frozen.proc.pid
    assert pid is not None
    try:
        os.kill(pid, signal.SIGSTOP)
        start = time.monotonic()
        r = fleet.http[0].post("/key/generate", json={}, headers=c.dps[0].auth_headers())
        took = time.monotonic() - start
        assert r.status_code == 200, r.text
        # Answered after the bounded wait, saying who applied it.
        assert r.headers.get("x-tollgate-applied") == "2/3", r.headers
        assert 0.9 <= took < 5.0, f"the write took {took:.2f}s with a 1s apply wait"
        key = r.json()["key"]
        assert fleet.chat(1, key).status_code == 200
        status = c.cp.status()
        laggards = [n["node_id"] for n in status["data_planes"] if n["connected"] and not n["in_sync"]]
        assert laggards == [frozen.node_id], status["data_planes"]
        assert status["laggards"] == [frozen.node_id], status
    finally:
        os.kill(pid, signal.SIGCONT)
    # Thawed, it catches up on its own (asynchronous: this is the one wait).
    wait_until(lambda: fleet.chat(2, key).status_code == 200 or None, timeout=10.0, desc="the thawed node serves the key")
    r = fleet.http[0].post("/key/generate", json={}, headers=c.dps[0].auth_headers())
    assert r.headers.get("x-tollgate-applied") == "3/3"
    fleet.close()


def test_cli_writes_are_in_force_when_the_cli_exits(cluster):
    import subprocess

    from harness import bin_path

    c = cluster(data_planes=2)
    env = {**os.environ, "LITELLM_MASTER_KEY": c.master_key}
    out = subprocess.run(
        [bin_path("tollgate"), "keys", "create", "--control-plane", c.cp.grpc_url, "--json"],
        env={**env, "TOLLGATE_CLUSTER_TOKEN": c.cluster_token},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    import json

    key = json.loads(out.stdout)["key"]
    fleet = Clients(c.dps)
    assert fleet.chat(1, key).status_code == 200
    out = subprocess.run(
        [bin_path("tollgate"), "keys", "block", key, "--control-plane", c.cp.grpc_url],
        env={**env, "TOLLGATE_CLUSTER_TOKEN": c.cluster_token},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert fleet.chat(0, key).status_code == 401
    assert fleet.chat(1, key).status_code == 401
    fleet.close()
