"""`/v1/audio/speech` (bytes back, priced per character) and `/v1/audio/transcriptions` (a multipart
upload, priced per second of audio) with the `openai` SDK, on OpenAI-format and Azure deployments,
with refusals, a fallback and bad input."""

from __future__ import annotations

import openai
import pytest

from expect import assert_openai_error
from unit_priced import PICOS, charged, deployment, new_key, post, start

PER_CHARACTER = 15_000_000  # $0.000015
PER_SECOND = 100_000_000  # $0.0001


@pytest.fixture
def c(cluster, mock_provider):
    mock = mock_provider
    return start(
        cluster,
        [
            deployment("tts", "openai/tts-1", mock.api_base, input_cost_per_character=PER_CHARACTER / PICOS),
            deployment(
                "tts-azure", "azure/my-tts", mock.url, api_version="2024-10-21",
                input_cost_per_character=PER_CHARACTER / PICOS,
            ),
            deployment("whisper", "openai/whisper-1", mock.api_base, input_cost_per_second=PER_SECOND / PICOS),
            deployment("whisper-down", "openai/mock-500", mock.api_base),
            deployment("tts-down", "openai/mock-500", mock.api_base),
        ],
        fallbacks=[{"whisper-down": ["whisper"]}, {"tts-down": ["tts"]}],
    )


def test_speech_bytes_priced_per_character(c, mock_provider, pg_url):
    client = c.dps[0].openai_client(api_key=new_key(c))
    mock_provider.clear()
    raw = client.audio.speech.with_raw_response.create(model="tts", voice="alloy", input="hello world")
    assert raw.headers["content-type"] == "audio/mpeg"
    assert raw.content == b"MOCK-AUDIO:hello world"
    [sent] = [r for r in mock_provider.requests() if r["path"] == "/v1/audio/speech"]
    assert sent["body"] == {"model": "tts-1", "voice": "alloy", "input": "hello world"}
    row = charged(pg_url, raw.headers["x-litellm-call-id"])
    assert (row["spend_picos"], row["call_type"], row["status"]) == (11 * PER_CHARACTER, "aspeech", "success"), row

    with c.dps[1].openai_client(api_key=client.api_key).audio.speech.with_streaming_response.create(
        model="tts-azure", voice="nova", input="héllo"
    ) as streamed:
        assert streamed.read() == "MOCK-AUDIO:héllo".encode()
        call_id = streamed.headers["x-litellm-call-id"]
    assert charged(pg_url, call_id)["spend_picos"] == 5 * PER_CHARACTER
    assert any(r["path"] == "/openai/deployments/my-tts/audio/speech" for r in mock_provider.requests())

    # A failing group falls back, and the fallback's price is charged.
    raw = client.audio.speech.with_raw_response.create(model="tts-down", voice="alloy", input="hi")
    assert (raw.headers["x-litellm-attempted-fallbacks"], raw.headers["x-litellm-model-group"]) == ("1", "tts")
    assert raw.content == b"MOCK-AUDIO:hi"
    assert charged(pg_url, raw.headers["x-litellm-call-id"])["spend_picos"] == 2 * PER_CHARACTER


def test_transcription_upload_priced_per_second(c, mock_provider, pg_url):
    client = c.dps[0].openai_client(api_key=new_key(c))
    audio = bytes(range(256)) * 10 + b"\r\n--fake-boundary\r\n" * 5  # 2,655 bytes, binary
    mock_provider.clear()
    raw = client.audio.transcriptions.with_raw_response.create(model="whisper", file=("clip.wav", audio, "audio/wav"))
    assert raw.parse().text == f"Transcript of {len(audio)} bytes from clip.wav"
    [sent] = [r for r in mock_provider.requests() if r["path"] == "/v1/audio/transcriptions"]
    assert sent["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    row = charged(pg_url, raw.headers["x-litellm-call-id"])
    assert (row["spend_picos"], row["call_type"]) == (round(len(audio) / 1000 * PER_SECOND), "atranscription"), row

    verbose = client.audio.transcriptions.create(model="whisper", file=("b.mp3", b"x" * 1500), response_format="verbose_json")
    assert verbose.duration == 1.5

    raw = client.audio.transcriptions.with_raw_response.create(model="whisper-down", file=("c.wav", b"y" * 1000))
    assert raw.headers["x-litellm-attempted-fallbacks"] == "1"
    assert charged(pg_url, raw.headers["x-litellm-call-id"])["spend_picos"] == PER_SECOND


def test_audio_refusals_and_bad_input(c):
    dp = c.dps[0]
    assert_openai_error(post(dp, "/v1/audio/speech", key="sk-unknown", json={"model": "tts", "voice": "a", "input": "x"}), 401)
    broke = new_key(c, max_budget=1e-9)
    assert post(dp, "/v1/audio/speech", key=broke, json={"model": "tts", "voice": "a", "input": "x"}).status_code == 200
    assert_openai_error(post(c.dps[1], "/v1/audio/speech", key=broke, json={"model": "tts", "voice": "a", "input": "x"}), 429, type="budget_exceeded")
    # The upload route refuses the same way, in OpenAI's shape.
    upload = {"files": {"file": ("a.wav", b"zz")}, "data": {"model": "whisper"}}
    assert_openai_error(post(dp, "/v1/audio/transcriptions", key="sk-unknown", **upload), 401)
    assert_openai_error(post(c.dps[1], "/v1/audio/transcriptions", key=broke, **upload), 429, type="budget_exceeded")

    for body, param in [({"model": "tts", "voice": "a"}, "input"), ({"model": "tts", "input": "x"}, "voice")]:
        assert assert_openai_error(post(dp, "/v1/audio/speech", json=body), 400)["param"] == param
    client = dp.openai_client()
    with pytest.raises(openai.BadRequestError) as e:
        client.audio.transcriptions.create(model="whisper", file=("empty.wav", b""))
    assert e.value.body["param"] == "file"
    # Not a multipart upload at all.
    err = assert_openai_error(post(dp, "/v1/audio/transcriptions", json={"model": "whisper"}), 400)
    assert "multipart" in err["message"]
    narrow = new_key(c, models=["tts"])
    r = post(dp, "/v1/audio/transcriptions", key=narrow, files={"file": ("a.wav", b"zz")}, data={"model": "whisper"})
    assert_openai_error(r, 403)
