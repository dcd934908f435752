"""A management write through the load balancer is in force on all three data planes when it
returns (the control plane answers once every connected data plane applied it)."""

from __future__ import annotations

import openai
import pytest


def test_write_through_lb_in_force_on_every_data_plane(topology, figures):
    t = topology()
    key, applied = t.generate_key(models=["slow"])
    assert applied == "3/3", applied
    # the very next request, on each data plane: no wait, no retry
    for dp in t.dps:
        reply = dp.openai_client(api_key=key).chat.completions.create(
            model="slow", messages=[{"role": "user", "content": "hi"}], max_tokens=3
        )
        assert reply.choices[0].message.content

    with t.http() as c:
        r = c.post("/key/block", headers=t.admin_headers(), json={"key": key})
    assert r.status_code == 200, r.text
    assert r.headers.get("x-tollgate-applied") == "3/3", r.headers
    for dp in t.dps:
        with pytest.raises(openai.AuthenticationError):
            dp.openai_client(api_key=key).chat.completions.create(
                model="slow", messages=[{"role": "user", "content": "hi"}], max_tokens=3
            )
    # and through the LB, whichever data plane it picks
    lb = openai.OpenAI(base_url=f"{t.base_url}/v1", api_key=key, max_retries=0)
    for _ in range(6):
        with pytest.raises(openai.AuthenticationError):
            lb.chat.completions.create(model="slow", messages=[{"role": "user", "content": "hi"}], max_tokens=3)
    figures.record(writes=2, applied="3/3")
