"""The probes of issue 12, run against a real `rag serve` and the real CLI, with what happened.

Starts `rag serve --auth` on loopback over a temporary copy of an index built from
``source/``, then runs each probe of the review and prints one row per probe: what was sent
and what came back. Loopback only; every probe is bounded (a fixed number of requests, a
timeout on each).

Usage:
    python benchmarks/probes.py            # the table
    python benchmarks/probes.py --json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SOURCE = ROOT / "source"
QUESTION = "上海的城市精神是什么？"
USER, PASSWORD = "reader", "probe-password"
DEEP = "[" * 100_000 + "]" * 100_000


def _request(url: str, path: str, body: bytes | None = None, headers: dict | None = None):
    req = urllib.request.Request(url.rstrip("/") + path, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _login(url: str, password: str, headers: dict | None = None) -> int:
    body = urllib.parse.urlencode({"username": USER, "password": password}).encode()
    form = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    return _request(url, "/login", body, form)[0]


def _counts(statuses: list[int]) -> str:
    return ", ".join(f"{statuses.count(s)}×{s}" for s in sorted(set(statuses)))


def _rag(*args: str, env: dict[str, str]) -> tuple[int, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "rag", *args], capture_output=True, text=True, env=env, timeout=600
    )
    err = proc.stderr.strip().splitlines()
    shown = err[-1] if err else proc.stdout.strip().splitlines()[-1:] or [""]
    return proc.returncode, (shown if isinstance(shown, str) else shown[0])[:160]


def server_probes(url: str, cookie_url: str) -> list[tuple[str, str]]:
    rows = []
    statuses = [_login(url, "wrong", {"X-Forwarded-For": f"10.0.0.{i}"}) for i in range(30)]
    rows.append(("30 wrong logins, X-Forwarded-For 10.0.0.$i", _counts(statuses)))
    time.sleep(0)  # the backoff now holds 127.0.0.1; the burst below runs on a fresh server
    with ThreadPoolExecutor(40) as pool:
        burst = list(pool.map(lambda _: _login(cookie_url, "wrong"), range(40)))
    rows.append(("40 parallel wrong logins, one address", f"{_counts(burst)} (400 = checked)"))
    return rows


def open_probes(url: str) -> list[tuple[str, str]]:
    rows = []
    host, port = urllib.parse.urlsplit(url).hostname, urllib.parse.urlsplit(url).port
    sockets = []
    for _ in range(500):
        sock = socket.create_connection((host, port), timeout=60)
        sock.sendall(b"GET /config HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sockets.append(sock)
    started = time.monotonic()
    closed = 0
    for sock in sockets:
        data = b""
        try:
            while chunk := sock.recv(4096):
                data += chunk
            closed += 1
        except OSError:
            pass
        sock.close()
    rows.append(
        (
            "500 sockets sending half a header",
            f"{closed} closed by the server after {time.monotonic() - started:.1f} s (408)",
        )
    )
    status, content = _request(url, "/config", headers={"X-Forwarded-Host": "evil.com"})
    root = json.loads(content).get("root", "")
    rows.append(("GET /config, X-Forwarded-Host: evil.com", f"{status}, root {root!r}"))
    call = json.dumps({"question": QUESTION}).encode()
    status, content = _request(
        url, "/gradio_api/call/v2/ask", call, {"Content-Type": "application/json"}
    )
    event = ""
    if status == 200:
        event_id = json.loads(content)["event_id"]
        text = _request(url, f"/gradio_api/call/v2/ask/{event_id}")[1].decode()
        event = text.split("\n", 1)[0]
    rows.append(("Gradio's v2 curl snippet for /ask", f"{status}, then {event!r}"))
    for path in ("/gradio_api/call/nope", "/gradio_api/call/v2/nope"):
        status, content = _request(url, path, b'{"data": []}', {"Content-Type": "application/json"})
        rows.append((f"POST {path}", f"{status} {json.loads(content)['detail']!r}"))
    status, content = _request(
        url,
        "/gradio_api/call/ask",
        ('{"data": [' + DEEP + "]}").encode(),
        {"Content-Type": "application/json"},
    )
    rows.append(("POST /gradio_api/call/ask, 100,000-deep body", f"{status} {content[:80]!r}"))
    return rows


def library_probes(index: Path, tmp: Path) -> list[tuple[str, str]]:
    import math

    import rag
    from ui.app import ChatService

    rows = []
    assistant = rag.load(index, model="none")
    rows.append(("search(k=0)", f"{assistant.search('上海 城市', k=0)!r}"))
    for k in (-1, "abc", math.nan, math.inf):
        try:
            assistant.search("上海", k=k)  # type: ignore[arg-type]
            rows.append((f"search(k={k!r})", "no error"))
        except Exception as exc:
            rows.append((f"search(k={k!r})", f"{type(exc).__name__}: {exc}"))
    answer = assistant.answer("那城市品格呢？", history="上海的城市精神是什么？")
    rows.append(('history="上海的城市精神是什么？"', f"resolved as {answer.resolved_question!r}"))
    settings = assistant.settings.with_(feedback_path=tmp / "feedback.jsonl")
    service = ChatService(assistant, settings)
    turn = service.ask(QUESTION)
    taken = [service.feedback(turn.records, 1, True, "session", "127.0.0.1") for _ in range(300)]
    lines = (tmp / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    rows.append(
        (
            "300 👍 on one answer, one session",
            f"{len(lines)} line, {(tmp / 'feedback.jsonl').stat().st_size} bytes; "
            f"{taken.count(False)} refused by the rate limit",
        )
    )
    return rows


def cli_probes(index: Path, tmp: Path, env: dict[str, str]) -> list[tuple[str, str]]:
    from rag import store

    rows = []
    common = ["--index", str(index), "--source", str(SOURCE), "--model", "none"]
    current = index / "CURRENT"
    good = current.read_bytes()
    generation = store.current_generation(index)
    assert generation is not None
    damages = {
        "nested CURRENT (200 KB)": lambda: current.write_text(DEEP),
        "nested CURRENT (4 KB, 2,000 levels)": lambda: current.write_text("[" * 2000 + "]" * 2000),
        "5,000-character generation name": lambda: current.write_text(
            json.dumps({"generation": "gen-" + "x" * 5000})
        ),
        "CURRENT is a directory": lambda: (current.unlink(), current.mkdir()),
    }
    for name, damage in damages.items():
        damage()
        for command in (["ask", QUESTION], ["doctor"]):
            code, line = _rag(*command, *common, env=env)
            rows.append((f"{name}: rag {command[0]}", f"exit {code}: {line}"))
        code, line = _rag("build", "--force", *common, env=env)
        after = store.current_generation(index)
        rows.append(
            (
                f"{name}: rag build --force",
                f"exit {code}; CURRENT -> {after.name if after else None}",
            )
        )
    manifest = store.current_generation(index) / store.MANIFEST  # type: ignore[operator]
    saved = manifest.read_bytes()
    manifest.write_text(DEEP)
    code, line = _rag("ask", QUESTION, *common, env=env)
    rows.append(("nested manifest.json: rag ask", f"exit {code}: {line}"))
    manifest.write_bytes(saved)
    del good
    source = tmp / "jsonl-src"
    source.mkdir()
    (source / "c.jsonl").write_text(DEEP + "\n", encoding="utf-8")
    code, line = _rag(
        "build", "--source", str(source), "--index", str(tmp / "i2"), "--model", "none", env=env
    )
    rows.append(("nested line in a .jsonl source: rag build", f"exit {code}: {line}"))
    fifo_src = tmp / "fifo-src"
    shutil.copytree(SOURCE, fifo_src)
    os.mkfifo(fifo_src / "fifo.txt")
    started = time.monotonic()
    code, line = _rag(
        "build", "--source", str(fifo_src), "--index", str(tmp / "i3"), "--model", "none", env=env
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "rag",
            "build",
            "--force",
            "--source",
            str(fifo_src),
            "--index",
            str(tmp / "i3"),
            "--model",
            "none",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    warning = next((x for x in proc.stderr.splitlines() if "fifo.txt" in x), "")
    rows.append(
        (
            "fifo.txt in the sources: rag build",
            f"exit {code} in {time.monotonic() - started:.0f} s; {warning}",
        )
    )
    return rows


def _start(index: Path, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rag",
            "serve",
            "--port",
            str(port),
            "--index",
            str(index),
            "--source",
            str(SOURCE),
            "--model",
            "none",
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            status = _request(f"http://127.0.0.1:{port}/", "/")[0]
            if status in (200, 401):
                return proc
        except OSError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"rag serve did not come up: {log.read_text()[-500:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    env.pop("RAG_TRUSTED_PROXIES", None)
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="rag-probes-") as name:
        tmp = Path(name)
        index = tmp / "index"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "rag",
                "build",
                "--index",
                str(index),
                "--source",
                str(SOURCE),
                "--model",
                "none",
            ],
            check=True,
            capture_output=True,
            env=env,
        )
        auth_env = {**env, "RAG_AUTH": f"{USER}:{PASSWORD}"}
        servers = []
        try:
            ports = [_free_port(), _free_port()]
            servers = [_start(index, p, auth_env, tmp / f"serve{p}.log") for p in ports]
            rows += server_probes(f"http://127.0.0.1:{ports[0]}/", f"http://127.0.0.1:{ports[1]}/")
        finally:
            for proc in servers:
                _stop(proc)
        port = _free_port()
        proc = _start(index, port, env, tmp / "open.log")
        try:
            rows += open_probes(f"http://127.0.0.1:{port}/")
        finally:
            _stop(proc)
        log_text = (tmp / "open.log").read_text(encoding="utf-8", errors="replace")
        rows.append(("tracebacks in the server log after these", str(log_text.count("Traceback"))))
        rows += library_probes(index, tmp)
        rows += cli_probes(index, tmp, env)
    if args.json:
        print(
            json.dumps([{"probe": p, "observed": o} for p, o in rows], ensure_ascii=False, indent=1)
        )
    else:
        print("| probe | observed |\n| --- | --- |")
        for probe, observed in rows:
            print(f"| {probe} | {observed.replace('|', '/')} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
