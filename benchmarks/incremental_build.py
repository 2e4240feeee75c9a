"""Full against one-file-changed build time on the laws corpus, as a user runs them (issue 10).

Each run is a fresh ``python -m rag build`` process (start-up and imports included), timed
from outside: a full build (``--force``), then the same index rebuilt after appending one
line to one law. Full and incremental runs alternate, so a change in the load of the (shared)
machine hits both; the load average is printed with each pair.

    PYTHONPATH=. .venv/bin/python benchmarks/incremental_build.py --runs 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
# ../shared beside the clone (CI), or the shared directory of the work machine.
_SHARED = next(
    (p for p in (_ROOT.parent / "shared", Path("/work/shared")) if p.is_dir()), Path("../shared")
)
LAWS = _SHARED / "corpora" / "laws"


def _build(source: Path, index: Path, *extra: str) -> float:
    command = [sys.executable, "-m", "rag", "build", "--source", str(source)]
    command += ["--index", str(index), "--model", "none", *extra]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--laws", type=Path, default=LAWS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--touch", default="城乡规划法(2019-04-23).md", help="the law a line is appended to"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source, index = Path(tmp) / "src", Path(tmp) / "index"
        source.mkdir()
        if not (args.laws / args.touch).is_file():
            raise SystemExit(f"{args.laws / args.touch} not found")
        for path in sorted(args.laws.glob("*.md")):
            shutil.copy(path, source / path.name)
        _build(source, index)  # the index the first incremental build starts from
        full, incremental = [], []
        for run in range(1, args.runs + 1):
            full.append(_build(source, index, "--force"))
            with (source / args.touch).open("a", encoding="utf-8") as fh:
                fh.write(f"\n第九百{run}条 本条为测量增量构建而添加。\n")
            incremental.append(_build(source, index))
            load = " ".join(f"{x:.2f}" for x in os.getloadavg())
            print(
                f"run {run}: full {full[-1]:.2f} s, one file changed {incremental[-1]:.2f} s "
                f"({full[-1] / incremental[-1]:.1f}x), load average {load}"
            )
        f, i = statistics.median(full), statistics.median(incremental)
        print(f"median: full {f:.2f} s, one file changed {i:.2f} s, {f / i:.1f}x faster")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
