"""Self cost per function of a callgrind dump, per request: the counts are instructions, so they
repeat run to run whatever else the machine does (bench/callgrind.sh makes the dump).

    python3 bench/callgrind_top.py DUMP REQUESTS [N] [CALLEE_REGEX]

With CALLEE_REGEX (for example `^memcpy`), also the top callers of the matching functions: who
asks for the copies, by the inclusive cost of their calls.
"""

from __future__ import annotations

import collections
import re
import sys


def self_costs(
    path: str, callee: re.Pattern[str] | None = None
) -> tuple[collections.Counter[str], collections.Counter[str]]:
    """Self cost per function, and (with ``callee``) the inclusive cost of calls to matching
    functions per caller."""
    names: dict[str, str] = {}
    costs: collections.Counter[str] = collections.Counter()
    callers: collections.Counter[str] = collections.Counter()
    fn, cfn, after_calls = "?", "?", False

    def name(token: str) -> str:
        m = re.match(r"\((\d+)\)(?: (.*))?", token)
        if not m:
            return token
        ident, text = m.groups()
        if text:
            names[ident] = text
        return names.get(ident, ident)

    with open(path, encoding="utf-8", errors="replace") as dump:
        for line in dump:
            if line.startswith("fn="):
                fn = name(line[3:].strip())
            elif line.startswith("cfn="):
                cfn = name(line[4:].strip())
            elif line.startswith("calls="):
                after_calls = True  # the next cost line is the call's inclusive cost
            elif line[:1].isdigit() or line[:1] in "+-*":
                parts = line.split()
                if len(parts) >= 2:
                    if not after_calls:
                        costs[fn] += int(parts[1])
                    elif callee is not None and callee.search(cfn):
                        callers[fn] += int(parts[1])
                    after_calls = False
    return costs, callers


def short(fn: str) -> str:
    return re.sub(r"::h[0-9a-f]{16}$", "", fn)[:120].replace("|", "\\|")


def main() -> None:
    path, requests = sys.argv[1], int(sys.argv[2])
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    callee = re.compile(sys.argv[4]) if len(sys.argv) > 4 else None
    costs, callers = self_costs(path, callee)
    total = sum(costs.values())
    print(f"{total:,} instructions in all, {total // requests:,} per request\n")
    print("| share | instructions / request | function |\n|---|---|---|")
    for fn, cost in costs.most_common(top):
        print(f"| {100 * cost / total:.1f} % | {cost // requests:,} | `{short(fn)}` |")
    if callee is not None:
        print(f"\nCallers of /{callee.pattern}/ (inclusive cost of their calls):\n")
        print("| instructions / request | caller |\n|---|---|")
        for fn, cost in callers.most_common(top):
            print(f"| {cost // requests:,} | `{short(fn)}` |")


if __name__ == "__main__":
    main()
