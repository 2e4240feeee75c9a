"""How reliably is the encoding of a short Chinese text file found? A measurement.

Samples: sentences of the seed (Simplified) and their Traditional form (OpenCC s2t), cut to
10, 20, 50 and 200 characters, encoded in UTF-8, UTF-8 with BOM, UTF-16 with BOM, GB18030,
GBK (Simplified only; Big5 cannot hold all Simplified characters) and Big5 (Traditional only).
A detection is right when it decodes the bytes to exactly the original text.

Candidates:
- ``charset-normalizer (unrestricted)``: ``from_bytes(data).best()``;
- ``charset-normalizer (Chinese only)``: restricted to GB18030 and Big5 after BOM and UTF-8;
- ``ours``: ``rag.parsing.readers.text.decode`` (BOM → strict UTF-8 → GB18030/Big5, whichever
  decodes the whole file, charset-normalizer choosing between the two when both do).

Run:
    .venv/bin/python benchmarks/readers_encoding.py \
        [--json benchmarks/results/readers_encoding.json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LENGTHS = (10, 20, 50, 200)


def samples() -> list[tuple[str, str, int, bytes]]:
    """(script, encoding, length, bytes) for every sample that the encoding can hold."""
    import opencc

    text = (ROOT / "source" / "shanghai_cpc_plenary_2021-06-22_soft_power.txt").read_text("utf-8")
    body = [line.strip() for line in text.splitlines() if len(line.strip()) >= 60]
    s2t = opencc.OpenCC("s2t")
    out = []
    for i, line in enumerate(body[:12]):
        for script, value in (("simplified", line), ("traditional", s2t.convert(line))):
            for length in LENGTHS:
                piece = (value * 4)[i : i + length]
                for encoding in ("utf-8", "utf-8-sig", "utf-16", "gb18030", "gbk", "big5"):
                    if script == "simplified" and encoding == "big5":
                        continue
                    if script == "traditional" and encoding == "gbk":
                        continue
                    try:
                        data = piece.encode(encoding)
                    except UnicodeEncodeError:
                        continue
                    out.append((script, encoding, length, data, piece))  # type: ignore[arg-type]
    return out  # type: ignore[return-value]


def cn_unrestricted(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    return str(best) if best is not None else None


def cn_chinese(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    for bom, name in (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(name)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data, cp_isolation=["gb18030", "big5"]).best()
    return str(best) if best is not None else None


def ours(data: bytes) -> str | None:
    from rag.errors import SourceError
    from rag.parsing.readers.text import decode

    try:
        return decode(data)[0]
    except SourceError:
        return None


CANDIDATES = {
    "charset-normalizer (unrestricted)": cn_unrestricted,
    "charset-normalizer (Chinese only)": cn_chinese,
    "rag.parsing.readers.text.decode": ours,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    data = samples()
    results: dict[str, dict[str, list[int]]] = {}
    for name, fn in CANDIDATES.items():
        table: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for script, encoding, length, raw, text in data:  # type: ignore[misc]
            got = fn(raw)
            ok = got is not None and re.sub("\r\n", "\n", got) == text
            for key in (f"{encoding} {script[:4]}", f"len {length}", "all"):
                table[key][0] += ok
                table[key][1] += 1
        results[name] = dict(table)
    keys = sorted(next(iter(results.values())), key=lambda k: (k.startswith(("len", "all")), k))
    print(f"{'':22}" + "".join(f"{n[:34]:>36}" for n in results))
    for key in keys:
        cells = ""
        for n in results:
            right, total = results[n][key]
            cells += f"{right:>25d}/{total:<3d} ({right / total:4.0%})"
        print(f"{key:22}{cells}")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
