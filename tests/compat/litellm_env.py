"""The real LiteLLM proxy, installed from PyPI into its own cached venv
(``<repo>/.venv-litellm``, gitignored) and reused while its version matches."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from harness import REPO_ROOT

LITELLM_VERSION = "1.106.2"
VENV = Path(os.environ.get("TOLLGATE_COMPAT_LITELLM_VENV", REPO_ROOT / ".venv-litellm"))


class LiteLLMInstallError(RuntimeError):
    """LiteLLM could not be installed; the message carries the command and its output."""


def installed_version(venv: Path = VENV) -> str | None:
    python = venv / "bin" / "python"
    if not python.exists():
        return None
    probe = subprocess.run(
        [python, "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


def ensure_litellm(venv: Path = VENV) -> Path:
    """The ``litellm`` executable of a venv holding exactly ``LITELLM_VERSION``."""
    if installed_version(venv) != LITELLM_VERSION:
        steps = [
            [sys.executable, "-m", "venv", str(venv)],
            [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", f"litellm[proxy]=={LITELLM_VERSION}"],
        ]
        for cmd in steps:
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise LiteLLMInstallError(f"`{' '.join(cmd)}` failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        got = installed_version(venv)
        if got != LITELLM_VERSION:
            raise LiteLLMInstallError(f"{venv} holds litellm {got!r} after installing {LITELLM_VERSION}")
    return venv / "bin" / "litellm"


def offline_env() -> dict[str, str]:
    """What keeps LiteLLM off the internet: the bundled price map, no telemetry, no
    database, and no proxy from the developer's shell."""
    return {
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_TELEMETRY": "False",
        "LITELLM_LOG": "WARNING",
        "ANONYMIZED_TELEMETRY": "False",
        "DISABLE_ADMIN_UI": "True",
        "NO_PROXY": "*",
        "no_proxy": "*",
        # The mock provider verifies Bedrock signatures; boto must not find other credentials.
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


if __name__ == "__main__":
    # `python tests/compat/litellm_env.py`: install ahead of the suite (CI runs it beside the build).
    print(ensure_litellm())
