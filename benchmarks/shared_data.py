"""Where the benchmarks find the shared data sets (never copied into the repository).

``../shared`` beside the checkout, as CI lays it out; else ``/work/shared``, for a git
worktree that lives outside the checkout's folder.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
if not SHARED.is_dir():
    SHARED = Path("/work/shared")
BENCH = SHARED / "bench"
EVAL = SHARED / "eval"
LAWS = SHARED / "corpora" / "laws"
