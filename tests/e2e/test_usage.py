"""Usage records flow from data planes to the control plane's spend_logs table, exactly once."""

from __future__ import annotations

from components import spend_log_stats
from harness import holds_for, wait_until

DELIVERY_TIMEOUT = 20.0


def make_requests(c, count: int, tag: str) -> None:
    """``count`` chats spread over the data planes, alternating streamed / non-streamed."""
    for i in range(count):
        dp = c.dps[i % len(c.dps)]
        client = dp.openai_client()
        text = f"{tag} request {i}"
        messages = [{"role": "user", "content": text}]
        if i % 2 == 0:
            resp = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
            assert resp.choices[0].message.content == f"Echo: {text}"
        else:
            kwargs = {"stream_options": {"include_usage": True}} if i % 4 == 1 else {}
            stream = client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True, **kwargs)
            got = "".join(ch.choices[0].delta.content or "" for ch in stream if ch.choices)
            assert got == f"Echo: {text}"


def wait_rows(db_url: str, expected: int) -> tuple[int, int]:
    stats = wait_until(
        lambda: (s := spend_log_stats(db_url)) is not None and s[0] >= expected and s,
        timeout=DELIVERY_TIMEOUT,
        interval=0.2,
        desc=f"spend_logs to reach {expected} rows",
    )
    # it must settle at exactly that number: nothing doubled by a late redelivery
    holds_for(
        lambda: spend_log_stats(db_url) == (expected, expected), duration=1.5, desc=f"spend_logs == {expected} rows"
    )
    return stats


def test_usage_records_reach_spend_logs_exactly_once(cluster, mock_provider, pg_url):
    c = cluster(data_planes=2)

    make_requests(c, 20, "first")
    assert len(mock_provider.chat_requests()) == 20
    assert wait_rows(pg_url, 20) == (20, 20)

    # with the control plane down, records are buffered and delivered after it returns
    c.cp.kill()
    make_requests(c, 5, "buffered")
    assert spend_log_stats(pg_url) == (20, 20)
    c.cp.start()
    assert wait_rows(pg_url, 25) == (25, 25)
