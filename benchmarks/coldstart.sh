#!/usr/bin/env bash
# Cold start: wall time of one `rag ask` process on a built lexical index, measured with
# /usr/bin/time (target: 0.6 s on the CMRC index, issue 14; 1.5 s before), and a check that it
# imports neither torch nor gradio.
#
# usage: benchmarks/coldstart.sh [SOURCE] [RUNS]
#   SOURCE  what to index (default: source/); e.g. /work/shared/bench/cmrc2018_dev/corpus.jsonl
#   RUNS    timed runs after one untimed run that fills the page cache (default 7)
#   VENV    virtualenv to run (default .venv; e.g. VENV=/work/main/.venv PYTHONPATH=$PWD)
#   TARGET  seconds the median may take (default 0.6)
# Exit status 1 when the median exceeds TARGET or torch/gradio is imported.
set -euo pipefail
cd "$(dirname "$0")/.."
SOURCE=${1:-source}
RUNS=${2:-7}
VENV=${VENV:-.venv}
TARGET=${TARGET:-0.6}
QUESTION=${QUESTION:-全会由谁主持？}
WORK=$(mktemp -d /tmp/rag-coldstart.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
INDEX="$WORK/index"

"$VENV"/bin/rag build --source "$SOURCE" --index "$INDEX" --model none >/dev/null 2>&1
# An installed package carries its bytecode (pip compiles it); with PYTHONDONTWRITEBYTECODE
# set, as in some sandboxes, every run would compile ~30 modules again (~0.1 s). Compile once.
"$VENV"/bin/python -m compileall -q rag >/dev/null
ask() { "$VENV"/bin/rag ask "$QUESTION" --index "$INDEX" --mode lexical "$@"; }

# Which heavy modules does the process import? (-X importtime lists every import.)
heavy=$("$VENV"/bin/python -X importtime -m rag ask "$QUESTION" --index "$INDEX" --mode lexical \
    2>&1 >/dev/null | grep -E '\| +(torch|gradio|sentence_transformers|transformers)$' || true)

ask >/dev/null || [ $? -eq 3 ]            # untimed: page cache, .pyc files
: >"$WORK/times"
for _ in $(seq "$RUNS"); do
    /usr/bin/time -f '%e %M' -a -o "$WORK/times" "$VENV"/bin/rag ask "$QUESTION" \
        --index "$INDEX" --mode lexical >/dev/null || [ $? -eq 3 ]
done

status=0
python3 - "$WORK/times" "$SOURCE" "$RUNS" "$TARGET" <<'EOF' || status=$?
import os, statistics, sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip() and line[0].isdigit()]
wall = sorted(float(r[0]) for r in rows)
rss = sorted(int(r[1]) / 1024 for r in rows)
print(f"rag ask (lexical) on an index of {sys.argv[2]}: {sys.argv[3]} runs, "
      f"wall median {statistics.median(wall):.2f} s, max {wall[-1]:.2f} s, "
      f"max RSS {rss[-1]:.0f} MB; load average {os.getloadavg()[0]:.2f}")
sys.exit(0 if statistics.median(wall) <= float(sys.argv[4]) else 1)
EOF
if [ -n "$heavy" ]; then
    echo "imports heavy modules:"; echo "$heavy"; exit 1
fi
echo "imports neither torch nor gradio"
exit $status
