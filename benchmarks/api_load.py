"""Load test of the JSON API (``POST /api/answer``) beside Gradio's ``/ask``, in one run.

Starts ``rag serve`` on 127.0.0.1 over a temporary index (built from ``source/`` when none is
given), then sends ``--clients`` concurrent clients × ``--questions`` questions each, first
to ``POST /api/answer`` and then (the same server, the same questions) to Gradio's ``/ask``
(``benchmarks/load_test.py``'s client). Reports throughput, p50/p95/max latency, errors and
whether every answer to one question was the same.

The API client is a few lines of asyncio over keep-alive HTTP/1.1 connections (one per
client), so that on a 2-core machine it takes as little CPU from the server as possible.

Usage:
    python benchmarks/api_load.py                    # 50 clients x 20 questions, both paths
    python benchmarks/api_load.py --skip-ask --json

The questions (``--pool``): by default the distinct questions of the public seed sets
(``../shared/eval/seed_qa.jsonl``, ``seed_dev.jsonl`` and ``tests/data/seed_extra_qa.jsonl``,
~70), spread over the requests so that each is asked about as often as the others; the
report says how many requests were a question's first ask, which no answer cache can serve.
``--pool fixed`` takes the 20 questions of ``load_test.py`` (a page's example questions or a
FAQ: after the warm-up every answer comes from the cache), ``--pool FILE.jsonl …`` the
``question`` of every line of those files (use them with ``--source`` of their corpus).
The warm-up asks the fixed questions, never the pool's.

Usage:
    python benchmarks/api_load.py --skip-ask                       # the seed sets' questions
    RAG_ANSWER_CACHE=0 python benchmarks/api_load.py --skip-ask    # every answer computed
    RAG_BACKEND=milvus python benchmarks/api_load.py --skip-ask    # through Milvus Lite
    python benchmarks/api_load.py --source ../shared/corpora/laws \
        --pool ../shared/eval/laws_dev.jsonl --skip-ask

Exit code 0 when there was no error and no inconsistent answer, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load_test import (  # a sibling script, not a package
    QUESTIONS,
    ROOT,
    Result,
    _check_loopback,
    _fingerprint,
    run_load,
    serving,
    summarise,
)

# ../shared beside the clone (as CI has it), else the machine's shared data.
SHARED_EVAL = next(
    (p for p in (ROOT.parent / "shared" / "eval", Path("/work/shared/eval")) if p.exists()),
    ROOT.parent / "shared" / "eval",
)
SEED_POOL = (
    SHARED_EVAL / "seed_qa.jsonl",
    SHARED_EVAL / "seed_dev.jsonl",
    ROOT / "tests" / "data" / "seed_extra_qa.jsonl",
)


def question_pool(spec: Sequence[str]) -> tuple[str, ...]:
    """The distinct questions to ask, in file order: ``fixed`` (load_test.py's 12), ``seed``
    (the public seed sets) or the ``question`` of every line of the given JSONL files."""
    if list(spec) == ["fixed"]:
        return tuple(QUESTIONS)
    files = SEED_POOL if list(spec) == ["seed"] else tuple(Path(p) for p in spec)
    questions: dict[str, None] = {}
    for path in files:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    questions[json.loads(line)["question"]] = None
    if not questions:
        raise SystemExit(f"no questions in {', '.join(map(str, files))}")
    return tuple(questions)


def first_asks(clients: int, questions: int, pool: Sequence[str]) -> int:
    """Requests that ask a question for the first time (no answer cache can serve them)."""
    return len({(n * questions + i) % len(pool) for n in range(clients) for i in range(questions)})


async def _client(
    n: int,
    host: str,
    port: int,
    questions: int,
    results: list[Result],
    start: asyncio.Event,
    timeout: float,
    pool: Sequence[str],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    await start.wait()
    try:
        for i in range(questions):
            # Client n asks the pool from position n * questions on: every question of the
            # pool is asked, each about as often.
            question = pool[(n * questions + i) % len(pool)]
            body = json.dumps({"question": question}, ensure_ascii=False).encode("utf-8")
            request = (
                f"POST /api/answer HTTP/1.1\r\nHost: {host}:{port}\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode("ascii") + body
            started = time.perf_counter()
            try:
                writer.write(request)
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
                status = int(head.split(b" ", 2)[1])
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                payload = await asyncio.wait_for(reader.readexactly(length), timeout)
                seconds = time.perf_counter() - started
                if status != 200:
                    results.append(Result(n, question, seconds, False, f"HTTP {status}"))
                    continue
                answer = json.loads(payload)
                results.append(
                    Result(
                        n,
                        question,
                        seconds,
                        True,
                        build_id=answer.get("build_id", ""),
                        found=bool(answer.get("found")),
                        fingerprint=_fingerprint(answer),
                    )
                )
            except Exception as exc:  # counted; the connection is no longer usable
                error = f"{type(exc).__name__}: {exc}"
                results.append(Result(n, question, time.perf_counter() - started, False, error))
                return
    finally:
        writer.close()


async def _api_load(
    url: str, clients: int, questions: int, timeout: float, pool: Sequence[str]
) -> tuple:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    results: list[Result] = []
    start = asyncio.Event()
    host, port = parts.hostname or "", parts.port or 80
    tasks = [
        asyncio.create_task(_client(n, host, port, questions, results, start, timeout, pool))
        for n in range(clients)
    ]
    await asyncio.sleep(0.2)  # every connection open before the first request
    started = time.perf_counter()
    start.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return summarise(results, clients, questions, time.perf_counter() - started), results


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _backend_of(index: Path) -> str:
    """The search backend the index at ``index`` was built for (its manifest): local or milvus."""
    from rag.store import MANIFEST, current_generation

    generation = current_generation(index)
    if generation is None:
        return "unknown"
    manifest = json.loads((generation / MANIFEST).read_text(encoding="utf-8"))
    return str(manifest.get("backend", {}).get("kind", "local"))


def run_api_load(
    url: str,
    clients: int = 50,
    questions: int = 20,
    timeout: float = 60.0,
    pool: Sequence[str] = QUESTIONS,
):
    """``clients`` × ``questions`` requests to ``POST /api/answer`` at ``url`` (loopback)."""
    _check_loopback(url)
    return asyncio.run(_api_load(url, clients, questions, timeout, pool))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--questions", type=int, default=20, help="questions per client")
    parser.add_argument("--source", default=str(ROOT / "source"))
    parser.add_argument("--model", default="none", help="embedding model (default none)")
    parser.add_argument("--skip-ask", action="store_true", help="measure /api/answer only")
    parser.add_argument("--warmup", type=int, default=200, help="API requests before measuring")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    parser.add_argument("--json", action="store_true", help="print the reports as JSON")
    parser.add_argument(
        "--pool",
        nargs="+",
        default=["seed"],
        help="questions: seed (the public seed sets, default), fixed (20 questions) or JSONL files",
    )
    args = parser.parse_args(argv)
    pool = question_pool(args.pool)
    fresh = first_asks(args.clients, args.questions, pool)

    reports = {}
    cpu_ms: dict[str, float] = {}
    with serving(Path(args.source), args.model, ready="api/openapi.json") as served:
        url, pid = served.url, served.process.pid
        backend = _backend_of(served.index)
        if args.warmup:
            run_api_load(url, 10, max(1, args.warmup // 10), args.timeout)
        cpu = _cpu_seconds(pid)
        reports["api_answer"], _ = run_api_load(
            url, args.clients, args.questions, args.timeout, pool
        )
        cpu_ms["api_answer"] = (_cpu_seconds(pid) - cpu) * 1000
        if not args.skip_ask:
            cpu = _cpu_seconds(pid)
            reports["gradio_ask"], _ = run_load(
                url, args.clients, args.questions, timeout=args.timeout, pool=pool
            )
            cpu_ms["gradio_ask"] = (_cpu_seconds(pid) - cpu) * 1000
    # Server CPU per answer does not depend on what else runs on the machine: on 2 free cores
    # one server process (one GIL) can give at most 1000 / (CPU ms per answer) answers/s.
    per_answer = {k: cpu_ms[k] / max(1, r.requests) for k, r in reports.items()}
    if args.json:
        out: dict[str, Any] = {
            k: {**asdict(v), "server_cpu_ms_per_answer": per_answer[k]} for k, v in reports.items()
        }
        out["pool"] = {"questions": len(pool), "first_asks": fresh}
        out["answer_cache"] = os.environ.get("RAG_ANSWER_CACHE", "default")
        out["backend"] = backend
        print(json.dumps(out, indent=1, ensure_ascii=False))
    else:
        load = os.getloadavg()[0]
        print(
            f"{len(pool)} distinct questions; {fresh} of {args.clients * args.questions} "
            f"requests ask one for the first time (answer cache: "
            f"{os.environ.get('RAG_ANSWER_CACHE', 'default')}; backend: {backend})"
        )
        for name, report in reports.items():
            print(f"== {name}\n{report.format()}")
            print(
                f"server CPU {per_answer[name]:.2f} ms per answer "
                f"(≤ {1000 / max(per_answer[name], 1e-6):.0f} answers/s on one free core)"
            )
        print(f"load average during the run: {load:.1f} on {os.cpu_count()} cores")
    failed = any(r.errors or r.inconsistent for r in reports.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
