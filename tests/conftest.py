"""Shared fixtures: an isolated environment for every test and a real seed index per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "source"


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No RAG_* setting leaks in from the developer's shell, no hub is ever contacted, and
    relative paths land in a temporary directory."""
    for name in list(os.environ):
        if name.startswith("RAG_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    monkeypatch.setenv("RAG_FEEDBACK_PATH", str(tmp_path / "feedback.jsonl"))


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real lexical index of source/, built once per test run."""
    import rag

    index = tmp_path_factory.mktemp("seed_index")
    rag.build_index(SOURCE, index, model="none", workers=1)
    return index


@pytest.fixture(scope="session")
def seed_assistant(seed_index: Path):
    import rag

    return rag.load(seed_index, model="none")
