"""Prices from a file in LiteLLM's model_prices_and_context_window.json format (a path
or a URL), and a warning at load for a deployment nobody can price."""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path
from typing import Any

from expect import expected_completion_tokens, expected_prompt_tokens

PICOS = 10**12
PRICES = {
    "sample_spec": {"max_tokens": "LEGACY"},
    "my-finetune": {"input_cost_per_token": 3e-06, "output_cost_per_token": 4e-06, "litellm_provider": "openai", "mode": "chat"},
}


def config(c, mock, cost_map: str) -> dict[str, Any]:
    def dep(name: str, model: str) -> dict[str, Any]:
        return {"model_name": name, "litellm_params": {"model": model, "api_base": mock.api_base, "api_key": "os.environ/MOCK_PROVIDER_KEY"}}

    return {
        "model_list": [dep("ft", "openai/my-finetune"), dep("mystery", "openai/nobody-prices-this")],
        "litellm_settings": {"model_cost_map": cost_map},
        "general_settings": {"master_key": c.master_key},
    }


def expected_cost(text: str) -> int:
    prompt = expected_prompt_tokens([{"role": "user", "content": text}])
    return prompt * 3_000_000 + expected_completion_tokens(f"Echo: {text}") * 4_000_000


def check(c) -> None:
    dp = c.dps[0]
    text = "price me please"
    raw = dp.openai_client().chat.completions.with_raw_response.create(model="ft", messages=[{"role": "user", "content": text}])
    assert float(raw.headers["x-litellm-response-cost"]) == expected_cost(text) / PICOS
    warnings = c.cp.status()["config"]["warnings"]
    assert any("nobody-prices-this" in w and "cost 0" in w for w in warnings), warnings
    assert not any("my-finetune" in w for w in warnings), warnings


def test_prices_from_a_litellm_price_file(cluster, mock_provider, tmp_path: Path):
    prices = tmp_path / "model_prices_and_context_window.json"
    prices.write_text(json.dumps(PRICES))
    c = cluster(data_planes=0, start=False)
    c.write_config(config(c, mock_provider, str(prices)))
    c.cp.start()
    c.add_data_plane()
    check(c)


def test_prices_from_a_url(cluster, mock_provider):
    body = json.dumps(PRICES).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        c = cluster(data_planes=0, start=False)
        c.write_config(config(c, mock_provider, f"http://127.0.0.1:{server.server_address[1]}/prices.json"))
        c.cp.start()
        c.add_data_plane()
        check(c)
    finally:
        server.shutdown()
