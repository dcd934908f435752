"""Writes a tiktoken vocabulary (`<base64 token> <rank>` per line, as OpenAI
publishes them) in the form the data plane embeds: for each rank from 0 up,
one length byte and the token's bytes. The data plane keeps this file as it
is and indexes it, instead of building a map of 200,000 small allocations.

    python3 make_vocab.py o200k_base.tiktoken o200k_base.vocab

The sources are tiktoken's (MIT), as shipped in the tiktoken-rs crate's
`assets/`; `usage::tokenizer` tests that every rank decodes as tiktoken's.
"""

import base64
import sys


def main(source: str, target: str) -> None:
    out = bytearray()
    with open(source, encoding="ascii") as lines:
        for expected, line in enumerate(lines):
            encoded, rank = line.split()
            if int(rank) != expected:
                raise SystemExit(f"rank {rank} out of order (expected {expected})")
            token = base64.b64decode(encoded)
            if not 0 < len(token) < 256:
                raise SystemExit(f"rank {rank}: a token of {len(token)} bytes")
            out.append(len(token))
            out += token
    with open(target, "wb") as f:
        f.write(out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
