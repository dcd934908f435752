"""Only data planes holding the cluster token get snapshots."""

from __future__ import annotations

import openai
import pytest

from expect import assert_openai_error, assert_status_shape
from harness import holds_for


def test_wrong_cluster_token_never_becomes_ready(cluster, mock_provider):
    c = cluster(data_planes=0)
    good = c.add_data_plane()  # waits for readiness
    bad = c.add_data_plane(wait_ready=False, cluster_token=c.cluster_token[:-4] + "nope")

    def bad_not_ready_good_ready() -> bool:
        bad_status, bad_body = bad.readiness()
        good_status, _ = good.readiness()
        return bad_status == 503 and bad_body.get("status") == "unhealthy" and good_status == 200

    holds_for(
        bad_not_ready_good_ready, duration=2.0, desc="wrong-token data plane 503 while the right-token one is 200"
    )

    with pytest.raises(openai.APIStatusError) as exc:
        bad.openai_client().chat.completions.create(model="local-mock", messages=[{"role": "user", "content": "x"}])
    assert exc.value.status_code == 503
    assert_openai_error(exc.value.response, 503)
    ok = good.openai_client().chat.completions.create(model="local-mock", messages=[{"role": "user", "content": "x"}])
    assert ok.choices[0].message.content == "Hello from Tollgate"

    st = c.wait_in_sync([good])
    assert_status_shape(st)
    bad_nodes = [n for n in st["data_planes"] if n["node_id"] == bad.node_id]
    assert all(n["connected"] is False and n["applied_version"] is None for n in bad_nodes), bad_nodes

    # the status API itself wants the master key
    assert c.cp.status_response(api_key="").status_code == 401
    assert c.cp.status_response(api_key="sk-wrong").status_code == 401
