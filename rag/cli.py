"""``rag``: build, inspect, ask, search, serve. A thin layer over the library.

Errors become a one-line message and exit code 1 here, and only here.
Exit codes: 0 ok, 1 error, 2 bad usage, 3 the documents do not answer the question.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from .errors import IndexNotBuiltError, RagError
from .settings import RetrievalMode, Settings

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_FOUND = 0, 1, 2, 3

EPILOG = """examples:
  rag build                              index source/ into index/ (no-op when up to date)
  rag build --source corpus.jsonl --index /tmp/idx --model none
  rag inspect                            show documents, outline, numbered paragraphs, changes
  rag check                              prove every source line is in the stored text
  rag ask "上海的城市精神是什么？"
  rag ask "全会由谁主持？" --json
  rag search "城市软实力" -k 5
  rag serve --port 7860                  web chat on http://127.0.0.1:7860
  rag eval ../shared/eval/seed_qa.jsonl --failures
  rag eval qa.jsonl --corpus corpus.jsonl --json
  rag eval qa.jsonl --calibrate          propose the refusal threshold for these questions
  rag doctor                             check the installation, model and index (offline)

settings come from defaults < RAG_* environment variables < options
(RAG_SOURCE, RAG_INDEX, RAG_MODEL, RAG_MODE, RAG_TOP_K, RAG_REFUSAL_THRESHOLD, ...)."""


def _err(message: str) -> None:
    print(f"rag: {message}", file=sys.stderr)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", help="index directory (default: index/, or RAG_INDEX)")
    p.add_argument("--source", help="source directory or file (default: source/, or RAG_SOURCE)")
    p.add_argument("--model", help="embedding model: hub name, local directory, or 'none'")
    p.add_argument(
        "--backend",
        choices=["local", "milvus"],
        help="search backend (default local, or RAG_BACKEND; Milvus at RAG_MILVUS_URI)",
    )


def _passages(text: str) -> int:
    """``-k``: a whole number, 0 or more (argparse turns the ValueError into exit code 2)."""
    try:
        k = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if k < 0:
        raise argparse.ArgumentTypeError(f"{k} is negative; give 0 or more passages")
    return k


def _query(p: argparse.ArgumentParser) -> None:
    p.add_argument("question", help="the question, in Chinese")
    p.add_argument("-k", type=_passages, default=None, help="number of passages (0 or more)")
    p.add_argument(
        "--mode", choices=[m.value for m in RetrievalMode], help="retrieval mode (default hybrid)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--document",
        action="append",
        default=[],
        metavar="ID",
        help="only this document (id or exact title; repeat for more)",
    )
    p.add_argument(
        "--kind",
        action="append",
        default=[],
        help="only documents of this kind (law, resolution… or 法律, 决议…; repeat for more)",
    )


def _scope(args: argparse.Namespace) -> dict[str, list[str]] | None:
    if not args.document and not args.kind:
        return None
    return {"documents": list(args.document), "kinds": list(args.kind)}


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag",
        description="Question answering over Chinese official documents: verbatim quotes "
        "with citations.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    b = sub.add_parser(
        "build",
        help="build the index from the sources",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(b)
    b.add_argument("--force", action="store_true", help="rebuild even when up to date")
    b.add_argument(
        "--require-dense",
        action="store_true",
        help="fail instead of building lexical-only when the model is unavailable",
    )
    b.add_argument("--chunk-size", type=int, help="passage size in characters")
    b.add_argument("--chunk-overlap", type=int, help="overlap between passages in characters")
    b.add_argument("--workers", type=int, help="tokenization processes (0 = all cores)")

    i = sub.add_parser("inspect", help="print the parsed structure of the sources")
    i.add_argument("--source", help="source directory or file")

    c = sub.add_parser(
        "check",
        help="check that every line of every source file is in the parsed text",
        description="Parse the sources and prove that no text was lost: every non-blank line "
        "of every text source occurs in the stored text of its documents as many times as in "
        "the file, or is accounted for by a reported change. Exit code 1 when a line is lost.",
    )
    c.add_argument("--source", help="source directory or file")

    a = sub.add_parser("ask", help="answer a question with verbatim quotes")
    _common(a)
    _query(a)
    a.add_argument(
        "--history",
        action="append",
        default=[],
        help="an earlier question (repeat, oldest first) for follow-ups",
    )

    s = sub.add_parser("search", help="print ranked passages")
    _common(s)
    _query(s)

    e = sub.add_parser(
        "eval",
        help="evaluate on labelled questions (JSONL)",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(e)
    e.add_argument(
        "qa", help="JSONL: question, answers (empty = unanswerable), optional doc/doc_id"
    )
    e.add_argument("--corpus", help="build a temporary index from this .jsonl corpus first")
    e.add_argument("--mode", choices=[m.value for m in RetrievalMode], help="retrieval mode")
    e.add_argument("-k", type=int, default=10, help="ranking depth for recall@k and MRR")
    e.add_argument("--json", action="store_true", help="print the metrics as JSON")
    e.add_argument("--failures", action="store_true", help="list every miss with what was answered")
    e.add_argument(
        "--calibrate",
        action="store_true",
        help="propose the refusal threshold maximising correct answers + refusals",
    )

    v = sub.add_parser("serve", help="start the web chat")
    _common(v)
    v.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    v.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    v.add_argument("--auth", help="user:password (or set RAG_AUTH); required beyond localhost")
    v.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="accept this Host header (repeat; or RAG_ALLOWED_HOSTS=a,b; '*' = any). "
        "Default: loopback names when bound to loopback, any otherwise",
    )
    v.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="also accept requests from this origin, e.g. https://docs.example.gov "
        "(repeat; or RAG_ALLOWED_ORIGINS=a,b); see docs/SECURITY.md",
    )
    v.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="believe X-Forwarded-For/-Proto from this reverse proxy (IP or network; repeat; "
        "or RAG_TRUSTED_PROXIES=a,b). Default none: the client is the connection's peer",
    )

    d = sub.add_parser(
        "doctor",
        help="check the installation, model, index and sources offline",
        description="Check the installation offline and print what was found: Python and "
        "package versions, the jieba dictionary, where the embedding model would come from, "
        "the index's integrity and whether it is stale against the sources, the build lock. "
        "Exit code 1 when something is wrong, with the fix.",
    )
    _common(d)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.load(
        index=getattr(args, "index", None),
        source=getattr(args, "source", None),
        model=getattr(args, "model", None),
        backend=getattr(args, "backend", None),
        mode=getattr(args, "mode", None),
        chunk_size=getattr(args, "chunk_size", None),
        chunk_overlap=getattr(args, "chunk_overlap", None),
        workers=getattr(args, "workers", None),
        require_dense=True if getattr(args, "require_dense", False) else None,
    )


def _say(message: str) -> None:
    print(message, file=sys.stderr)


class _Bars:
    """One tqdm progress bar per long build stage, on stderr (hidden when not a terminal)."""

    def __init__(self) -> None:
        self._bars: dict[str, object] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm import tqdm

        bar = self._bars.get(stage)
        if bar is None:
            bar = self._bars[stage] = tqdm(
                total=total, desc=stage, unit="", file=sys.stderr, leave=False, mininterval=0.5
            )
        assert isinstance(bar, tqdm)
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()
            del self._bars[stage]


class _LogProgress:
    """Progress as log lines (``rag serve``): a line per stage at every further 10%."""

    def __init__(self) -> None:
        self._shown: dict[str, int] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        tenth = 10 * done // max(total, 1)
        if self._shown.get(stage, -1) < tenth:
            self._shown[stage] = tenth
            _say(f"{stage}: {done}/{total} ({100 * done // max(total, 1)}%)")


def _build(settings: Settings, force: bool = False, *, log_progress: bool = False) -> None:
    from .build import build_index

    progress = _LogProgress() if log_progress or not sys.stderr.isatty() else _Bars()
    report = build_index(settings=settings, force=force, log=_say, progress=progress)
    if report.up_to_date:
        print(
            f"up to date: {report.build_id} ({report.documents} documents, "
            f"{report.chunks} passages); use --force to rebuild"
        )
        return
    for repair in report.repairs:
        _say(f"repair: {repair.kind} {repair.source} lines {list(repair.lines)}: {repair.detail}")
    for warning in report.warnings:
        _say(f"warning: {warning}")
    mode = f"model {report.model}" if report.model else "lexical only (no embedding model)"
    total = sum(report.timings.values())
    print(
        f"built {report.build_id}: {report.documents} documents, {report.chunks} passages, "
        f"{mode}, {report.size_bytes / 1024:.0f} KiB in {total:.1f} s -> {report.generation}"
    )


def _ensure_index(settings: Settings) -> None:
    """Build first when there is no index yet, saying so."""
    from . import store

    if store.current_generation(settings.index) is None:
        _say(f"no index in {settings.index} yet; building it from {settings.source} first")
        _build(settings)


def _cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from .assistant import load

    _ensure_index(settings)
    assistant = load(settings=settings)
    answer = assistant.answer(args.question, history=args.history, k=args.k, scope=_scope(args))
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=1))
    else:
        print(format_plain(answer))
    return EXIT_OK if answer.found else EXIT_NOT_FOUND


def format_plain(answer: object) -> str:
    """Terminal rendering of an Answer (no Markdown escapes)."""
    from .answering import REFUSAL, attribution
    from .schema import Answer

    assert isinstance(answer, Answer)
    lines = [f"（{n}）" for n in answer.notes]
    if answer.resolved_question and answer.resolved_question != answer.question:
        lines.append(f"（按“{answer.resolved_question}”理解）")
    if answer.found:
        for q in answer.quotes:
            lines.append(f"「{q.text}」")
            lines.append(f"    —— {q.citation}（{attribution(q.doc_kind)}）")
    else:
        lines.append(REFUSAL if answer.hits or answer.confidence else answer.markdown)
        if answer.hits:
            lines.append("相关段落（并非答案）：")
            for h in answer.hits[:3]:
                preview = h.text if len(h.text) <= 60 else h.text[:60] + "……"
                lines.append(f"  · {h.citation}：{preview}")
    return "\n".join(lines)


def _cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from .assistant import load

    _ensure_index(settings)
    hits = load(settings=settings).search(args.question, k=args.k, scope=_scope(args))
    if args.json:
        print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=1))
        return EXIT_OK
    if not hits:
        print("没有找到相关段落。")
    for rank, h in enumerate(hits, 1):
        print(f"{rank}. [{h.score:.4f}] {h.citation}\n   {h.text}")
    return EXIT_OK


def _cmd_inspect(args: argparse.Namespace, settings: Settings) -> int:
    from .parsing import describe, load_documents

    print(describe(load_documents(settings.source, max_bytes=settings.max_source_bytes)))
    return EXIT_OK


def _cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from .parsing import check_corpus, load_documents

    corpus = load_documents(settings.source, max_bytes=settings.max_source_bytes)
    report = check_corpus(settings.source, corpus)
    print(report.format())
    changes = corpus.repairs
    if changes:
        counted = Counter(r.kind for r in changes)
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(counted.items()))
        print(f"changes to the text, all reported by `rag inspect`: {kinds}")
        skipped = sum(len(r.lines) for r in changes if r.kind == "contents_skipped")
        if skipped:
            print(f"{skipped} lines skipped as 目录 (table of contents), counted as reported above")
    return EXIT_OK if report.ok else EXIT_ERROR


def _cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    import tempfile

    from .assistant import load
    from .build import build_index
    from .evaluation import calibrate, evaluate, format_calibration, format_report, read_qa

    items = read_qa(args.qa)
    with tempfile.TemporaryDirectory(prefix="rag-eval-") as tmp:
        if args.corpus:
            _say(f"building a temporary index from {args.corpus}")
            settings = settings.with_(index=Path(tmp) / "index", source=Path(args.corpus))
            build_index(settings=settings, log=_say)
        else:
            _ensure_index(settings)
        # Every question is answered and timed by the engine, a repeated one too.
        assistant = load(settings=settings.with_(answer_cache=0))
        if args.calibrate:
            print(format_calibration(calibrate(assistant, items, k=args.k)))
            return EXIT_OK
        report = evaluate(assistant, items, k=args.k, mode=args.mode)
    if args.json:
        data = report.to_dict(with_items=args.failures)
        print(json.dumps(data, ensure_ascii=False, indent=1))
    else:
        print(format_report(report, failures=args.failures))
    return EXIT_OK


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def _cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from .doctor import diagnose

    report = diagnose(settings)
    print(report.format())
    return EXIT_OK if report.ok else EXIT_ERROR


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from ui.server import serve

    auth_text = args.auth or os.environ.get("RAG_AUTH")
    auth = None
    if auth_text:
        user, sep, password = auth_text.partition(":")
        if not sep or not user or not password:
            raise RagError("--auth must look like user:password")
        auth = (user, password)
    serve(
        settings=settings,
        host=args.host,
        port=args.port,
        auth=auth,
        allowed_hosts=args.allowed_host or _env_list("RAG_ALLOWED_HOSTS"),
        allowed_origins=args.allow_origin or _env_list("RAG_ALLOWED_ORIGINS"),
        trusted_proxies=_trusted_proxies(args),
        build=lambda: _build_subprocess(settings),
    )
    return EXIT_OK


def _trusted_proxies(args: argparse.Namespace) -> tuple[str, ...]:
    from ui.server import parse_trusted_proxies

    try:
        return parse_trusted_proxies(args.trusted_proxy or _env_list("RAG_TRUSTED_PROXIES"))
    except ValueError as exc:
        raise RagError(str(exc)) from None


def _build_subprocess(settings: Settings) -> None:
    """``rag build`` in a child process, its progress passed through to this one's stderr.

    ``rag serve`` runs it while already listening. A child process, because the build forks
    tokenization workers, which is unsafe from a process whose server threads are running.

    Raises:
        RagError: The build failed (its last line of output says why).
    """
    import subprocess

    command = [sys.executable, "-m", "rag", "build", "--index", str(settings.index)]
    command += ["--source", str(settings.source), "--model", settings.model or "none"]
    if not settings.dense_enabled:
        command[-1] = "none"
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, errors="replace")
    last = ""
    assert process.stderr is not None
    for line in process.stderr:
        sys.stderr.write(line)
        sys.stderr.flush()
        last = line.strip() or last
    if process.wait() != 0:
        raise RagError(last.removeprefix("rag: ") or f"the build exited with {process.returncode}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rag`` command."""
    # A terminal or pipe that cannot show Chinese gets escapes, never a UnicodeEncodeError.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    args = make_parser().parse_args(argv)
    try:
        settings = _settings(args)
        if args.command == "build":
            _build(settings, force=args.force)
            return EXIT_OK
        handler = {
            "ask": _cmd_ask,
            "search": _cmd_search,
            "inspect": _cmd_inspect,
            "check": _cmd_check,
            "serve": _cmd_serve,
            "eval": _cmd_eval,
            "doctor": _cmd_doctor,
        }[args.command]
        return handler(args, settings)
    except IndexNotBuiltError as exc:
        _err(str(exc))
        return EXIT_ERROR
    except RagError as exc:
        _err(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:
        # `rag ask … | head -1`: the reader went away; exit quietly like other Unix tools.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    except OSError as exc:
        # The file system or the network said no (a port taken, a name too long): one line.
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        _err(f"{exc.strerror or exc}{where}")
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
