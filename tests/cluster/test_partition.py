"""A real network partition between a data plane and the control plane: the data plane runs
in its own network namespace, joined by veth pairs to the control planes' network and to the
load balancer's; the partition takes its control-plane link down."""

from __future__ import annotations

import time

import pytest

from components import MockProvider
from harness import bin_path, wait_until
from topology import Load, NetNamespace


@pytest.fixture
def netns():
    ns = NetNamespace(0)
    try:
        yield ns.create()
    finally:
        ns.destroy()


def test_partitioned_data_plane_serves_and_converges_on_heal(topology, netns, harness, figures):
    # The control plane and the provider listen on the host's ends of the namespace's links:
    # the host's data planes reach those addresses too (they are local).
    provider = MockProvider(
        harness.spawn(
            "mock-provider-netns",
            [bin_path("tollgate-mock-provider"), "--host", netns.api_host_ip, "--port", "0", "--no-record"],
        )
    ).start()
    t = topology(netns=netns, cp_grpc_host=netns.cp_host_ip, provider=provider)
    cut_off = t.dps[2]
    key, _ = t.generate_key()
    with Load(t.base_url, key, clients=6) as load:
        load.wait_requests(100)
        netns.partition()
        partitioned_at = time.monotonic()

        # a write on another data plane (the cut-off one answers 503 to writes: they need the
        # control plane): in force on the two reachable ones, reported not applied on the third
        new_key, applied = t.generate_key(via=t.dps[0])
        assert applied == "2/3", f"x-tollgate-applied: {applied}"
        version_after_write = t.cps[0].status()["snapshot"]["version"]
        _, body = cut_off.readiness()
        assert body["snapshot_version"] < version_after_write, body

        def noticed() -> bool:
            return cut_off.readiness()[1]["control_plane"] == "disconnected"

        wait_until(noticed, timeout=15, desc="the cut-off data plane notices the partition")
        detected_after = time.monotonic() - partitioned_at
        load.wait_requests(200)  # known keys keep working everywhere, the cut-off node too
        served_while_cut = sum(1 for o in load.ok if o.served_by == "dp3" and o.start > partitioned_at)

        netns.heal()
        healed_at = time.monotonic()

        def converged() -> bool:
            status, body = cut_off.readiness()
            return status == 200 and body["snapshot_version"] >= version_after_write

        wait_until(converged, timeout=10, interval=0.02, desc="the healed data plane applies the missed write")
        converge_seconds = time.monotonic() - healed_at
        load.wait_requests(100)

    reply = cut_off.openai_client(api_key=new_key).chat.completions.create(
        model="slow", messages=[{"role": "user", "content": "hi"}], max_tokens=3
    )
    assert reply.choices[0].message.content
    figures.record(
        requests=len(load.outcomes),
        failed=len(load.failed),
        served_by_cut_off_node_while_partitioned=served_while_cut,
        applied_during_partition=applied,
        partition_detected_seconds=round(detected_after, 2),
        converge_after_heal_seconds=round(converge_seconds, 3),
    )
    assert load.failed == [], load.failed[:3]
    assert served_while_cut > 0
    assert converge_seconds <= 1.0, f"converged {converge_seconds:.2f} s after the partition healed"
