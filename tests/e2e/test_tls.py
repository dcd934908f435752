"""The channel between the planes can run over TLS."""

from __future__ import annotations

from harness import holds_for


def test_data_planes_sync_over_tls(cluster, mock_provider):
    c = cluster(data_planes=0, tls=True)
    assert c.cp.grpc_url.startswith("https://")
    trusted = c.add_data_plane()  # waits for readiness: the snapshot came over TLS
    reply = trusted.openai_client().chat.completions.create(
        model="local-mock", messages=[{"role": "user", "content": "over tls"}]
    )
    assert reply.choices[0].message.content == "Hello from Tollgate"
    status = c.wait_in_sync([trusted])
    node = next(n for n in status["data_planes"] if n["node_id"] == trusted.node_id)
    assert node["connected"] is True and node["applied_version"] == status["snapshot"]["version"]

    # Without the CA the certificate is not trusted: no snapshot, ever.
    untrusted = c.add_data_plane(wait_ready=False, trust_tls=False)
    holds_for(
        lambda: untrusted.readiness()[0] == 503,
        duration=2.0,
        desc="a data plane that does not trust the control plane's certificate stays unready",
    )
