"""Parsing (and building) time against input size (issue 12 item 2: linear, not quadratic).

Synthetic text files are made from the seed's paragraphs, each made unique by a serial
number, repeated up to the wanted size; in the ``bare`` variant every paragraph lacks its
final punctuation, which is what made the continuation search quadratic. Each size is parsed
in a fresh process (``load_documents``) under a timeout; ``--build`` also builds a lexical
index of the sizes up to ``--build-max``.

Usage:
    PYTHONPATH=. .venv/bin/python benchmarks/parsing_scale.py --sizes 0.1 1 10 100 \
        --json benchmarks/results/parsing_scale.json
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "source" / "shanghai_cpc_plenary_2021-06-22_soft_power.txt"
_FINAL = re.compile(r"[。！？；”]+$")


def paragraphs() -> list[str]:
    text = SEED.read_text(encoding="utf-8")
    return [p.strip() for p in text.split("\n\n") if len(p.strip()) > 60 and "\n" not in p.strip()]


def make_file(path: Path, megabytes: float, bare: bool) -> int:
    """Write a file of about ``megabytes`` MB; returns its size in bytes."""
    source = paragraphs()
    target = int(megabytes * 1_000_000)
    written = 0
    with path.open("w", encoding="utf-8") as fh:
        fh.write("# 合成测试文本\n\n")
        n = 0
        while written < target:
            para = source[n % len(source)]
            if bare:
                para = _FINAL.sub("", para)
            line = f"编号{n}：{para}\n\n"
            fh.write(line)
            written += len(line.encode("utf-8"))
            n += 1
    return path.stat().st_size


_CHILD = """
import sys, time
from pathlib import Path
try:
    from rag.parsing import load_documents
except ImportError:
    from rag.structure import load_documents
start = time.perf_counter()
corpus = load_documents(Path(sys.argv[1]))
print(time.perf_counter() - start, len(corpus.documents[0].paragraphs))
"""

_BUILD = """
import sys, time
from rag import build_index
start = time.perf_counter()
build_index(sys.argv[1], sys.argv[2], model="none", force=True, max_source_mb=0)
print(time.perf_counter() - start)
"""


def run(code: str, args: list[str], timeout: float) -> list[str] | None:
    try:
        out = subprocess.run(
            [sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
    except subprocess.TimeoutExpired:
        return None
    except subprocess.CalledProcessError as exc:
        raise SystemExit(exc.stderr) from None
    return out.stdout.split()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.1, 1, 10, 100])
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--build", action="store_true", help="also time a lexical build")
    parser.add_argument("--build-max", type=float, default=10, help="largest size built (MB)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="rag-scale-") as tmp:
        for bare in (False, True):
            for size in args.sizes:
                src = Path(tmp) / f"s{size}-{int(bare)}" / "text.md"
                src.parent.mkdir()
                nbytes = make_file(src, size, bare)
                clock = time.perf_counter()
                out = run(_CHILD, [str(src)], args.timeout)
                row: dict[str, object] = {
                    "mb": size,
                    "bytes": nbytes,
                    "final_punctuation": not bare,
                    "parse_s": round(float(out[0]), 2) if out else None,
                    "paragraphs": int(out[1]) if out else None,
                    "timed_out": out is None,
                    "wall_s": round(time.perf_counter() - clock, 2),
                }
                if args.build and size <= args.build_max and out is not None:
                    built = run(_BUILD, [str(src), str(src.parent / "index")], args.timeout)
                    row["build_s"] = round(float(built[0]), 2) if built else None
                print(json.dumps(row), flush=True)
                rows.append(row)
                src.unlink()
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
