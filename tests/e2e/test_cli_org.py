"""`tollgate teams|users|customers …` against a real control plane, and gRPC server reflection
(what `grpcurl list` uses) listing the AdminService and its team/user/customer methods."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any
from urllib.parse import urlsplit

import grpc
import pytest

from harness import bin_path

CHAT = {"model": "local-mock", "messages": [{"role": "user", "content": "hi"}]}


def tollgate(cp, *args: str, master_key: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOLLGATE_", "LITELLM_"))}
    env.update({"TOLLGATE_CONTROL_PLANE": cp.grpc_url, "LITELLM_MASTER_KEY": master_key})
    return subprocess.run([str(bin_path("tollgate")), *args], env=env, capture_output=True, text=True, timeout=30)


def ok_json(cp, *args: str, master_key: str) -> Any:
    r = tollgate(cp, *args, "--json", master_key=master_key)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def failed(cp, *args: str, master_key: str) -> str:
    r = tollgate(cp, *args, master_key=master_key)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stderr.startswith("error:"), r.stderr
    return r.stderr


def chat_status(dp, key: str, **extra: Any) -> int:
    with dp.http() as c:
        return c.post("/v1/chat/completions", json={**CHAT, **extra}, headers={"Authorization": f"Bearer {key}"}).status_code


def test_teams_users_and_customers_through_the_cli(cluster, mock_provider):
    c = cluster(data_planes=1)
    dp, mk = c.dps[0], c.master_key

    team = ok_json(c.cp, "teams", "create", "--team-id", "core", "--alias", "Core", "--models", "local-mock", "--max-budget", "12.5", master_key=mk)
    assert team["team_id"] == "core" and team["team_alias"] == "Core" and team["models"] == ["local-mock"] and team["max_budget"] == 12.5
    table = tollgate(c.cp, "teams", "list", master_key=mk)
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split()[:3] == ["TEAM_ID", "ALIAS", "MODELS"] and any(r.startswith("core") for r in rows)

    user = ok_json(c.cp, "users", "create", "--user-id", "dana", "--email", "dana@example.com", "--teams", "core", "--with-key", master_key=mk)
    assert user["user_id"] == "dana" and user["teams"] == ["core"] and user["key"].startswith("sk-")
    member = ok_json(c.cp, "teams", "add-member", "core", "erin", "--role", "admin", master_key=mk)
    assert {(m["user_id"], m["role"]) for m in member["members_with_roles"]} == {("dana", "user"), ("erin", "admin")}
    assert ok_json(c.cp, "teams", "remove-member", "core", "dana", master_key=mk)["members"] == ["erin"]

    users = ok_json(c.cp, "users", "list", master_key=mk)
    assert users["total"] == 2 and {u["user_id"] for u in users["users"]} == {"dana", "erin"}
    assert "dana" in tollgate(c.cp, "users", "list", master_key=mk).stdout
    assert ok_json(c.cp, "users", "update", "dana", "--role", "internal_user_viewer", master_key=mk)["user_role"] == "internal_user_viewer"
    info = ok_json(c.cp, "users", "info", "dana", master_key=mk)
    assert info["user_info"]["user_email"] == "dana@example.com" and len(info["keys"]) == 1

    # A team key made with `keys create`, then the team blocked and unblocked from the CLI; each
    # command returns once the data plane enforces it, so the very next request sees it.
    key = ok_json(c.cp, "keys", "create", "--team-id", "core", master_key=mk)["key"]
    assert chat_status(dp, key) == 200, "team key refused right after `keys create`"
    assert ok_json(c.cp, "teams", "block", "core", master_key=mk)["blocked"] is True
    assert chat_status(dp, key) == 401, "blocked team served right after `teams block`"
    assert ok_json(c.cp, "teams", "unblock", "core", master_key=mk)["blocked"] is False
    assert chat_status(dp, key) == 200, "unblocked team refused right after `teams unblock`"
    assert chat_status(dp, key, model="gpt-4o-mini") == 403, "the team's model list allows local-mock only"
    updated = ok_json(c.cp, "teams", "update", "core", "--models", "", master_key=mk)
    assert updated["models"] == [] and updated["team_alias"] == "Core"
    assert chat_status(dp, key, model="gpt-4o-mini") == 200, "the widened list not enforced right after `teams update`"
    assert len(ok_json(c.cp, "teams", "info", "core", master_key=mk)["keys"]) == 1

    # Customers.
    made = ok_json(c.cp, "customers", "create", "initech", "--alias", "Initech", "--max-budget", "3", "--region", "us", master_key=mk)
    assert made["user_id"] == "initech" and made["litellm_budget_table"]["max_budget"] == 3
    assert ok_json(c.cp, "customers", "block", "initech", master_key=mk)[0]["blocked"] is True
    assert chat_status(dp, key, user="initech") == 400, "blocked customer served right after `customers block`"
    assert ok_json(c.cp, "customers", "unblock", "initech", master_key=mk)[0]["blocked"] is False
    assert chat_status(dp, key, user="initech") == 200, "customer refused right after `customers unblock`"
    assert ok_json(c.cp, "customers", "update", "initech", "--alias", "INITECH", master_key=mk)["alias"] == "INITECH"
    assert ok_json(c.cp, "customers", "info", "initech", master_key=mk)["alias"] == "INITECH"
    assert "initech" in tollgate(c.cp, "customers", "list", master_key=mk).stdout
    assert "deleted 1 customer" in tollgate(c.cp, "customers", "delete", "initech", master_key=mk).stdout

    # Deleting: a user's keys and a team's keys go with them.
    gone = tollgate(c.cp, "users", "delete", "dana", master_key=mk)
    assert gone.returncode == 0 and "deleted 1 user(s) and 1 key(s)" in gone.stdout
    gone = tollgate(c.cp, "teams", "delete", "core", master_key=mk)
    assert gone.returncode == 0 and "deleted 1 team(s) and 1 key(s)" in gone.stdout
    assert chat_status(dp, key) == 401, "the deleted team's key is served right after `teams delete`"
    assert ok_json(c.cp, "teams", "list", master_key=mk) == []


def test_org_cli_errors_say_what_to_fix(cluster, mock_provider):
    c = cluster(data_planes=0)
    mk = c.master_key
    assert "master" in failed(c.cp, "teams", "list", master_key="sk-wrong").lower()
    err = failed(c.cp, "teams", "create", "--budget-duration", "fortnight", master_key=mk)
    assert "budget_duration" in err and "30d" in err
    assert "max_budget" in failed(c.cp, "teams", "create", "--max-budget=-1", master_key=mk)
    assert "not found" in failed(c.cp, "teams", "info", "nope", master_key=mk).lower()
    assert "role" in failed(c.cp, "users", "create", "--role", "emperor", master_key=mk)
    assert "team" in failed(c.cp, "users", "create", "--teams", "nope", master_key=mk)
    assert "region" in failed(c.cp, "customers", "create", "x", "--region", "mars", master_key=mk)
    assert "not found" in failed(c.cp, "customers", "block", "ghost", master_key=mk).lower()
    ok_json(c.cp, "teams", "create", "--alias", "dup", master_key=mk)
    assert "dup" in failed(c.cp, "teams", "create", "--alias", "dup", master_key=mk)
    assert len(ok_json(c.cp, "teams", "list", master_key=mk)) == 1, "failed commands wrote nothing"
    assert ok_json(c.cp, "users", "list", master_key=mk)["total"] == 0
    assert ok_json(c.cp, "customers", "list", master_key=mk) == []


# ---------------------------------------------------------------- reflection


def _varint(data: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, i


def _fields(data: bytes) -> list[tuple[int, bytes]]:
    """Length-delimited fields of a protobuf message (the only kind reflection answers use)."""
    out, i = [], 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 2:
            length, i = _varint(data, i)
            out.append((number, data[i : i + length]))
            i += length
        elif wire == 0:
            _, i = _varint(data, i)
        else:
            raise AssertionError(f"unexpected wire type {wire}")
    return out


def _reflect(target: str, request: bytes, version: str) -> list[tuple[int, bytes]]:
    with grpc.insecure_channel(target) as channel:
        rpc = channel.stream_stream(
            f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
            request_serializer=lambda b: b,
            response_deserializer=lambda b: b,
        )
        (answer,) = list(rpc(iter([request]), timeout=10))
    return _fields(answer)


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_grpc_reflection_lists_the_admin_service(cluster, mock_provider, version):
    c = cluster(data_planes=0)
    target = urlsplit(c.cp.grpc_url).netloc
    # ServerReflectionRequest{list_services: ""} (field 7).
    answer = dict(_reflect(target, b"\x3a\x00", version))
    services = {dict(_fields(s))[1].decode() for _, s in _fields(answer[6])}
    assert {"tollgate.v1.AdminService", "tollgate.v1.ConfigDistribution", f"grpc.reflection.{version}.ServerReflection"} <= services, services
    # ServerReflectionRequest{file_containing_symbol: "tollgate.v1.AdminService"} (field 4).
    symbol = b"tollgate.v1.AdminService"
    answer = dict(_reflect(target, b"\x22" + bytes([len(symbol)]) + symbol, version))
    files = b"".join(f for _, f in _fields(answer[4]))
    for method in (b"CreateTeam", b"AddTeamMember", b"RemoveTeamMember", b"CreateUser", b"ListUsers", b"CreateCustomer", b"SetCustomerBlocked"):
        assert method in files, method
