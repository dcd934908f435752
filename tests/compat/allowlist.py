"""The machine-readable allow-list of deliberate or pending differences
(``known_differences.yaml``) and the bookkeeping that keeps it true: every entry
must still occur, and must name a section of docs/COMPATIBILITY.md."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from compare import Difference
from harness import REPO_ROOT

ALLOWLIST_PATH = Path(__file__).with_name("known_differences.yaml")
COMPATIBILITY_MD = REPO_ROOT / "docs" / "COMPATIBILITY.md"
REQUIRED = ("case", "aspect", "what", "why", "section")


@dataclass(frozen=True)
class Entry:
    number: int  # position in the file, for messages
    case: str  # case id, or a glob over case ids
    aspect: str  # a difference's aspect, or a glob over them
    what: str
    why: str
    section: str  # a `## ` heading of docs/COMPATIBILITY.md
    owner: str | None

    def applies_to(self, case_id: str) -> bool:
        return fnmatch.fnmatchcase(case_id, self.case)

    def covers(self, case_id: str, difference: Difference) -> bool:
        return self.applies_to(case_id) and fnmatch.fnmatchcase(difference.aspect, self.aspect)

    def label(self) -> str:
        return f"entry #{self.number} (case {self.case!r}, aspect {self.aspect!r})"


class AllowListError(ValueError):
    """known_differences.yaml is malformed; the message says which entry and why."""


def load(path: Path = ALLOWLIST_PATH) -> list[Entry]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(raw, list):
        raise AllowListError(f"{path}: expected a list of entries, got {type(raw).__name__}")
    entries = []
    for number, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise AllowListError(f"{path}: entry #{number} is not a mapping")
        missing = [k for k in REQUIRED if not isinstance(item.get(k), str) or not item[k].strip()]
        if missing:
            raise AllowListError(f"{path}: entry #{number} lacks {', '.join(missing)}: {item}")
        unknown = set(item) - {*REQUIRED, "owner"}
        if unknown:
            raise AllowListError(f"{path}: entry #{number} has unknown keys {sorted(unknown)}")
        entries.append(
            Entry(number, item["case"], item["aspect"], item["what"], item["why"], item["section"], item.get("owner"))
        )
    return entries


def compatibility_sections(path: Path = COMPATIBILITY_MD) -> set[str]:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return {m.group(1).strip() for m in re.finditer(r"^## (.+)$", text, flags=re.MULTILINE)}


def split(entries: list[Entry], case_id: str, differences: list[Difference]) -> tuple[list[Difference], set[int]]:
    """(differences no entry covers, numbers of the entries that covered one)."""
    unlisted: list[Difference] = []
    used: set[int] = set()
    for d in differences:
        covering = [e.number for e in entries if e.covers(case_id, d)]
        if covering:
            used.update(covering)
        else:
            unlisted.append(d)
    return unlisted, used


def template(case_id: str, differences: list[Difference]) -> str:
    """YAML a developer can paste (and must complete) for differences that are deliberate."""
    items: list[dict[str, Any]] = [
        {"case": case_id, "aspect": d.aspect, "what": "…", "why": "…", "section": "…"} for d in differences
    ]
    return yaml.safe_dump(items, sort_keys=False, allow_unicode=True)
