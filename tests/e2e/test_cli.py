"""The admin CLI (`tollgate keys …`, `tollgate status`) against a real control plane."""

from __future__ import annotations

import json
import os
import subprocess

from harness import bin_path

CHAT = {"model": "local-mock", "messages": [{"role": "user", "content": "hi"}]}


def tollgate(cp, *args: str, master_key: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOLLGATE_", "LITELLM_"))}
    env.update({"TOLLGATE_CONTROL_PLANE": cp.grpc_url, "LITELLM_MASTER_KEY": master_key})
    return subprocess.run([str(bin_path("tollgate")), *args], env=env, capture_output=True, text=True, timeout=30)


def chat_status(dp, key: str) -> int:
    with dp.http() as c:
        return c.post("/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {key}"}).status_code


def test_keys_through_the_cli(cluster, mock_provider):
    c = cluster(data_planes=1)
    dp = c.dps[0]
    created = tollgate(c.cp, "keys", "create", "--alias", "from-cli", "--models", "local-mock", "--json", master_key=c.master_key)
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)
    assert key["key_alias"] == "from-cli" and key["models"] == ["local-mock"] and key["key"].startswith("sk-")
    # The command returns once the data plane serves the key: usable at once.
    assert chat_status(dp, key["key"]) == 200, "the CLI-created key is refused right after `keys create`"

    table = tollgate(c.cp, "keys", "list", master_key=c.master_key)
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split()[:3] == ["TOKEN", "NAME", "ALIAS"]
    assert any("from-cli" in row for row in rows)
    listed = json.loads(tollgate(c.cp, "keys", "list", "--json", master_key=c.master_key).stdout)
    assert listed["total_count"] == 1 and listed["keys"][0]["token"] == key["token"]

    info = json.loads(tollgate(c.cp, "keys", "info", key["token"], "--json", master_key=c.master_key).stdout)
    assert info["key_alias"] == "from-cli" and "key" not in info

    deleted = tollgate(c.cp, "keys", "delete", key["key"], master_key=c.master_key)
    assert deleted.returncode == 0 and "deleted 1 key" in deleted.stdout
    assert chat_status(dp, key["key"]) == 401, "the CLI-deleted key is served right after `keys delete`"

    status = json.loads(tollgate(c.cp, "status", "--json", master_key=c.master_key).stdout)
    assert status["data_planes"][0]["node_id"] == dp.node_id and status["data_planes"][0]["in_sync"] is True


def test_cli_walks_the_key_list_by_cursor(cluster, mock_provider):
    c = cluster(data_planes=0)
    made = []
    for i in range(5):
        r = tollgate(c.cp, "keys", "create", "--alias", f"walk-{i}", "--json", master_key=c.master_key)
        assert r.returncode == 0, r.stderr
        made.append(json.loads(r.stdout)["token"])
    newest_first = list(reversed(made))

    def page(*flags: str) -> dict:
        r = tollgate(c.cp, "keys", "list", "--size", "2", "--json", *flags, master_key=c.master_key)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    first = page()
    assert [k["token"] for k in first["keys"]] == newest_first[:2] and first["prev_before"] == ""
    walked, cursor, pages = [], first["next_after"], [first]
    walked += [k["token"] for k in first["keys"]]
    while cursor:
        p = page("--after", cursor)
        assert p["total_count"] == 5 and p["current_page"] == 0, "a cursor page has no page number"
        walked += [k["token"] for k in p["keys"]]
        pages.append(p)
        cursor = p["next_after"]
    assert walked == newest_first, "the cursor walk lists every key once, newest first"
    assert [len(p["keys"]) for p in pages] == [2, 2, 1]
    back = page("--before", pages[2]["prev_before"])
    assert [k["token"] for k in back["keys"]] == newest_first[2:4]

    # The table prints the adjacent pages' cursors as the flags that open them.
    table = tollgate(c.cp, "keys", "list", "--size", "2", "--after", first["next_after"], master_key=c.master_key)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert "5 key(s)" in lines
    assert f"--after {pages[1]['next_after']}" in lines and f"--before {pages[1]['prev_before']}" in lines
    both = tollgate(c.cp, "keys", "list", "--page", "2", "--after", first["next_after"], master_key=c.master_key)
    assert both.returncode != 0 and "cannot be used with" in both.stderr


def test_cli_errors_say_what_to_fix(cluster, mock_provider):
    c = cluster(data_planes=0)
    wrong = tollgate(c.cp, "keys", "list", master_key="sk-wrong")
    assert wrong.returncode == 1
    assert wrong.stderr.startswith("error:") and "master" in wrong.stderr.lower()
    assert "sk-wrong" not in wrong.stderr
    bad = tollgate(c.cp, "keys", "create", "--duration", "forever", master_key=c.master_key)
    assert bad.returncode == 1 and "duration" in bad.stderr and "30d" in bad.stderr
    missing = tollgate(c.cp, "keys", "info", "sk-never-issued", master_key=c.master_key)
    assert missing.returncode == 1 and "not found" in missing.stderr
    listed = json.loads(tollgate(c.cp, "keys", "list", "--json", master_key=c.master_key).stdout)
    assert listed["total_count"] == 0, "failed commands wrote nothing"
