"""Screenshots of the chat for the README: desktop and phone, first view and an answer.

Builds a lexical index of ``source/`` in a temporary directory, serves it on loopback and
drives Debian's Chromium; writes ``docs/screenshots/{desktop,phone}-{first,answer}.png``.

Usage:
    PYTHONPATH=. python scripts/screenshots.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

import rag
from ui.server import start

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
QUESTION = "上海的城市精神是什么？"
IDLE = "() => !document.querySelector('[data-testid=status-tracker]:not(.hide)')"
VIEWS = {
    "desktop": {"viewport": {"width": 1400, "height": 900}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        rag.build_index(ROOT / "source", index, model="none", workers=1)
        running = start(rag.load(index, model="none"), host="127.0.0.1", port=0)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"]
                )
                for name, options in VIEWS.items():
                    context = browser.new_context(locale="zh-CN", **options)
                    page = context.new_page()
                    page.set_default_timeout(60_000)
                    page.goto(running.url)
                    page.locator(".rag-status").wait_for()
                    # Every load event done: no progress overlay left (a busy machine is slow).
                    page.wait_for_function(IDLE)
                    page.wait_for_timeout(500)
                    page.screenshot(path=str(OUT / f"{name}-first.png"))
                    box = page.locator("#rag-question textarea")
                    box.fill(QUESTION)
                    box.press("Enter")
                    page.locator("#rag-chat .rag-found").wait_for()
                    page.locator("#rag-chat a.rag-cite").first.click()
                    page.locator("#rag-document mark.rag-quote").wait_for()
                    page.wait_for_timeout(800)
                    if name == "phone":
                        page.locator("#rag-chat .rag-found").scroll_into_view_if_needed()
                    else:
                        page.evaluate("window.scrollTo(0, 0)")
                    page.wait_for_timeout(300)
                    page.screenshot(path=str(OUT / f"{name}-answer.png"))
                    context.close()
                browser.close()
        finally:
            running.close()


if __name__ == "__main__":
    main()
