"""Self cost per function of a callgrind dump, per request: the counts are instructions, so they
repeat run to run whatever else the machine does (bench/callgrind.sh makes the dump).

    python3 bench/callgrind_top.py DUMP REQUESTS [N]
"""

from __future__ import annotations

import collections
import re
import sys


def self_costs(path: str) -> collections.Counter[str]:
    names: dict[str, str] = {}
    costs: collections.Counter[str] = collections.Counter()
    fn, after_calls = "?", False

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
                name(line[4:].strip())
            elif line.startswith("calls="):
                after_calls = True  # the next cost line is the call's inclusive cost
            elif line[:1].isdigit() or line[:1] in "+-*":
                parts = line.split()
                if len(parts) >= 2:
                    if not after_calls:
                        costs[fn] += int(parts[1])
                    after_calls = False
    return costs


def main() -> None:
    path, requests = sys.argv[1], int(sys.argv[2])
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    costs = self_costs(path)
    total = sum(costs.values())
    print(f"{total:,} instructions in all, {total // requests:,} per request\n")
    print("| share | instructions / request | function |\n|---|---|---|")
    for fn, cost in costs.most_common(top):
        short = re.sub(r"::h[0-9a-f]{16}$", "", fn)[:120].replace("|", "\\|")
        print(f"| {100 * cost / total:.1f} % | {cost // requests:,} | `{short}` |")


if __name__ == "__main__":
    main()
