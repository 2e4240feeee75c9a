"""Bounded load test of ``rag serve`` through its HTTP API, on loopback only.

Starts ``rag serve`` on 127.0.0.1 over a temporary copy of an index (built from ``source/``
when none is given), sends ``--clients`` concurrent clients × ``--questions`` questions each
to ``POST /gradio_api/call/ask`` (+ the result stream), and reports throughput, p50/p95/max
latency, errors, and whether every answer to the same question was the same. With
``--rebuild``, ``rag build --force`` runs back to back on the served index while the load
runs; every answer must still come whole from one generation. A fixed number of requests,
a timeout on each and an overall deadline: it always stops by itself.

Usage:
    python benchmarks/load_test.py                       # 50 clients x 20 questions
    python benchmarks/load_test.py --rebuild             # the same during rebuilds
    python benchmarks/load_test.py --clients 10 --questions 3 --json

Exit code 0 when there was no error and no inconsistent answer, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = (
    "上海的城市精神是什么？",
    "上海的城市品格是什么？",
    "全会由谁主持？",
    "全面提升城市软实力要坚持哪些原则？",
    "城市软实力的神韵魅力体现在哪里？",
    "如何弘扬城市精神？",
    "全会审议通过了什么决议？",
    "什么是人民城市重要理念？",
    "软实力与硬实力是什么关系？",
    "如何提升城市文化品位？",
    "上海的GDP是多少？",  # not in the documents: a refusal
    "全会是哪一天召开的？",
    "怎样打造国际文化大都市？",
    "红色文化、海派文化、江南文化指什么？",
    "城市治理方面提出了哪些要求？",
    "怎样讲好中国故事上海篇章？",
    "的了吗",  # stop words only
    "？？？",  # nothing searchable
    "上海要建设什么样的国际大都市？",
    "侧记中与会委员怎么看软实力？",
)


@dataclass
class Result:
    """One request."""

    client: int
    question: str
    seconds: float
    ok: bool
    error: str = ""
    build_id: str = ""
    found: bool = False
    fingerprint: str = ""


@dataclass
class Report:
    """What a run measured."""

    clients: int
    questions_per_client: int
    requests: int
    errors: int
    inconsistent: int
    seconds: float
    throughput_rps: float
    p50_ms: float
    p95_ms: float
    max_ms: float
    build_ids: list[str] = field(default_factory=list)
    rebuilds: int = 0
    rebuild_waits: int = 0  # builds refused while `rag serve`'s own build held the lock
    rebuild_errors: list[str] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    def format(self) -> str:
        lines = [
            f"{self.clients} clients x {self.questions_per_client} questions = "
            f"{self.requests} requests in {self.seconds:.1f} s",
            f"throughput {self.throughput_rps:.1f} answers/s; latency p50 {self.p50_ms:.0f} ms, "
            f"p95 {self.p95_ms:.0f} ms, max {self.max_ms:.0f} ms",
            f"errors {self.errors}; inconsistent answers {self.inconsistent}; "
            f"generations seen {len(self.build_ids)}; rebuilds during the run {self.rebuilds}"
            + (
                f" ({self.rebuild_waits} waited for the server's own build)"
                if self.rebuild_waits
                else ""
            ),
        ]
        lines += [f"  error: {e}" for e in self.error_samples]
        lines += [f"  rebuild error: {e}" for e in self.rebuild_errors]
        return "\n".join(lines)


def _check_loopback(url: str) -> None:
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise SystemExit(f"refusing to load-test {url}: loopback addresses only")


def ask(url: str, question: str, timeout: float) -> dict[str, Any]:
    """One question through Gradio's REST API: POST the call, then read its event stream."""
    request = urllib.request.Request(
        url.rstrip("/") + "/gradio_api/call/ask",
        data=json.dumps({"data": [question]}).encode("utf-8"),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        event_id = json.loads(response.read())["event_id"]
    stream = url.rstrip("/") + f"/gradio_api/call/ask/{event_id}"
    with urllib.request.urlopen(stream, timeout=timeout) as response:
        body = response.read().decode("utf-8")
    event = data = ""
    for line in body.splitlines():
        if line.startswith("event: "):
            event = line[len("event: ") :].strip()
        elif line.startswith("data: "):
            data = line[len("data: ") :]
    if event != "complete":
        raise RuntimeError(f"event {event!r}: {data[:200]}")
    return json.loads(data)[0]


def _fingerprint(answer: dict[str, Any]) -> str:
    """The answer without its generation id: the same sources must give the same answer."""
    quotes = [(q["doc_id"], q["start"], q["end"], q["text"]) for q in answer.get("quotes", [])]
    return json.dumps([answer.get("found"), quotes, answer.get("markdown")], ensure_ascii=False)


def run_load(
    url: str,
    clients: int = 50,
    questions: int = 20,
    *,
    timeout: float = 60.0,
    deadline: float = 600.0,
    pool: Sequence[str] = QUESTIONS,
) -> tuple[Report, list[Result]]:
    """Send ``clients`` × ``questions`` requests to ``url`` (loopback only) and measure.

    Every client starts at once (a barrier), asks its questions one after another, and gives
    up on a request after ``timeout`` seconds; the whole run stops after ``deadline``.
    """
    _check_loopback(url)
    results: list[Result] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)
    stop_at = time.monotonic() + deadline

    def client(n: int) -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout)
        for i in range(questions):
            question = pool[(n + i) % len(pool)]
            if time.monotonic() > stop_at:
                result = Result(n, question, 0.0, False, "deadline reached")
            else:
                started = time.perf_counter()
                try:
                    answer = ask(url, question, timeout)
                    result = Result(
                        n,
                        question,
                        time.perf_counter() - started,
                        True,
                        build_id=answer.get("build_id", ""),
                        found=bool(answer.get("found")),
                        fingerprint=_fingerprint(answer),
                    )
                except Exception as exc:  # every failure is counted, none stops the run
                    error = f"{type(exc).__name__}: {exc}"
                    result = Result(n, question, time.perf_counter() - started, False, error)
            with lock:
                results.append(result)

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, stop_at - time.monotonic()) + timeout)
    elapsed = time.perf_counter() - started
    return summarise(results, clients, questions, elapsed), results


def summarise(results: list[Result], clients: int, questions: int, elapsed: float) -> Report:
    ok = [r for r in results if r.ok]
    latencies = sorted(r.seconds * 1000 for r in ok) or [0.0]
    by_question: dict[str, set[str]] = {}
    for r in ok:
        by_question.setdefault(r.question, set()).add(r.fingerprint)
    inconsistent = sum(len(v) - 1 for v in by_question.values())
    missing = clients * questions - len(results)
    errors = [r for r in results if not r.ok]
    return Report(
        clients=clients,
        questions_per_client=questions,
        requests=len(results),
        errors=len(errors) + missing,
        inconsistent=inconsistent,
        seconds=elapsed,
        throughput_rps=len(ok) / elapsed if elapsed else 0.0,
        p50_ms=statistics.median(latencies),
        p95_ms=latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
        max_ms=latencies[-1],
        build_ids=sorted({r.build_id for r in ok}),
        error_samples=sorted({r.error for r in errors})[:5],
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rag(*args: str) -> list[str]:
    return [sys.executable, "-m", "rag", *args]


def _wait_until_up(
    url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float, ready: str = "config"
) -> None:
    """Wait until ``url + ready`` answers (SystemExit when the server exits or is too slow)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
            raise SystemExit(f"`rag serve` exited with code {proc.returncode}:\n" + "\n".join(tail))
        try:
            with urllib.request.urlopen(url + ready, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise SystemExit(f"`rag serve` did not answer at {url} within {timeout:.0f} s")


class Rebuilder(threading.Thread):
    """Runs `rag build --force` back to back until stopped (each build in its own process)."""

    def __init__(
        self, index: Path, source: Path, model: str, env: dict[str, str], limit: int = 0
    ) -> None:
        super().__init__(daemon=True)
        self.index, self.source, self.model, self.env = index, source, model, env
        self.limit = limit  # stop after this many builds (0: until stopped)
        self.done = 0
        self.waits = 0  # builds refused because another build held the lock, then retried
        self.errors: list[str] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set() and not (self.limit and self.done >= self.limit):
            proc = subprocess.run(
                _rag(
                    "build",
                    "--force",
                    "--index",
                    str(self.index),
                    "--source",
                    str(self.source),
                    "--model",
                    self.model,
                ),
                capture_output=True,
                text=True,
                env=self.env,
                timeout=600,
            )
            last = proc.stderr.strip().splitlines()[-1:][0] if proc.stderr.strip() else ""
            if proc.returncode == 0:
                self.done += 1
            elif "another build is running" in last:
                # `rag serve` brings its index up to date in the background when it starts;
                # a build refused while that one holds the lock waits its turn.
                self.waits += 1
                self._halt.wait(0.5)
            else:
                self.errors.append(last or f"exit code {proc.returncode}")

    def stop(self) -> None:
        self._halt.set()


@dataclass
class Served:
    """A running ``rag serve`` (see :func:`serving`)."""

    url: str
    process: subprocess.Popen[bytes]
    index: Path  # the temporary index it serves
    env: dict[str, str]  # the environment it runs in (for `rag build` on the same index)


@contextlib.contextmanager
def serving(
    source: Path,
    model: str = "none",
    *,
    index: str | Path | None = None,
    start_timeout: float = 120.0,
    ready: str = "config",
) -> Iterator[Served]:
    """``rag serve`` on a free loopback port over a temporary index, stopped on exit.

    The index is a copy of ``index``, or built from ``source`` with ``model``. The server
    runs without a login (``RAG_AUTH`` removed) and writes its feedback and log into the
    temporary directory; on leaving, it gets SIGINT, then SIGKILL after 30 s. It is up
    when the path ``ready`` answers (the JSON API is mounted after the page: a load on
    ``/api`` waits for ``api/openapi.json``).
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    env.pop("RAG_AUTH", None)
    with tempfile.TemporaryDirectory(prefix="rag-load-") as tmp:
        served = Path(tmp) / "index"
        if index:
            shutil.copytree(index, served)
        else:
            subprocess.run(
                _rag("build", "--index", str(served), "--source", str(source), "--model", model),
                check=True,
                capture_output=True,
                env=env,
            )
        port = _free_port()
        url = f"http://127.0.0.1:{port}/"
        log = Path(tmp) / "serve.log"
        with log.open("wb") as log_file:
            server = subprocess.Popen(
                _rag(
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--index",
                    str(served),
                    "--source",
                    str(source),
                    "--model",
                    model,
                ),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env={**env, "RAG_FEEDBACK_PATH": str(Path(tmp) / "feedback.jsonl")},
            )
            try:
                _wait_until_up(url, server, log, timeout=start_timeout, ready=ready)
                yield Served(url, server, served, env)
            finally:  # the server goes whatever happened
                server.send_signal(signal.SIGINT)
                try:
                    server.wait(30)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait(30)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--questions", type=int, default=20, help="questions per client")
    parser.add_argument("--source", default=str(ROOT / "source"))
    parser.add_argument("--index", help="index to copy and serve (default: build one)")
    parser.add_argument("--model", default="none", help="embedding model (default none)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild during the load")
    parser.add_argument(
        "--rebuilds",
        type=int,
        default=0,
        help="with --rebuild: this many rebuilds, the load kept running until they are done "
        "(default 0: back to back for as long as the load runs)",
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    parser.add_argument("--deadline", type=float, default=600.0, help="seconds for the run")
    parser.add_argument(
        "--start-timeout", type=float, default=120.0, help="seconds for `rag serve` to come up"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.questions < 1:
        parser.error("--clients and --questions must be at least 1")

    rebuilder = None
    with serving(
        Path(args.source), args.model, index=args.index, start_timeout=args.start_timeout
    ) as served:
        try:
            if args.rebuild:
                rebuilder = Rebuilder(
                    served.index, Path(args.source), args.model, served.env, args.rebuilds
                )
                rebuilder.start()
            report, results = run_load(
                served.url,
                args.clients,
                args.questions,
                timeout=args.timeout,
                deadline=args.deadline,
            )
            rounds = 1
            # With a number of rebuilds asked for, keep the load going until all have run
            # under it (each round another clients x questions), within the deadline.
            while (
                rebuilder is not None
                and args.rebuilds
                and rebuilder.is_alive()
                and report.seconds < args.deadline
            ):
                more, extra = run_load(
                    served.url,
                    args.clients,
                    args.questions,
                    timeout=args.timeout,
                    deadline=args.deadline,
                )
                results += extra
                rounds += 1
                report = summarise(
                    results,
                    args.clients,
                    args.questions * rounds,
                    sum(r.seconds for r in (report, more)),
                )
        finally:  # the builds stop before the server does
            if rebuilder is not None:
                rebuilder.stop()
                rebuilder.join(600)
    if rebuilder is not None:
        report.rebuilds = rebuilder.done
        report.rebuild_waits = rebuilder.waits
        report.rebuild_errors = rebuilder.errors[:5]
    print(json.dumps(asdict(report), indent=1) if args.json else report.format())
    failed = report.errors or report.inconsistent or report.rebuild_errors
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
