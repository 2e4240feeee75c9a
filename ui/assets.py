"""Theme, CSS and the small browser script of the chat page (all served by the app itself).

The theme uses system fonts only, so the page never asks a font service for anything.
"""

from __future__ import annotations

import gradio as gr

FONTS = (
    "PingFang SC",
    "Hiragino Sans GB",
    "Microsoft YaHei",
    "WenQuanYi Micro Hei",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
)
MONO_FONTS = ("SFMono-Regular", "Menlo", "Consolas", "DejaVu Sans Mono")


def theme() -> gr.themes.Base:
    """Gradio's default look with system CJK fonts (no web-font downloads)."""
    return gr.themes.Default(
        primary_hue="red",
        font=[gr.themes.Font(name) for name in FONTS] + ["sans-serif"],
        font_mono=[gr.themes.Font(name) for name in MONO_FONTS] + ["monospace"],
    )


CSS = """
.rag-header .rag-title { font-size: 1.45rem; margin: 0 0 .2rem 0; }
.rag-header .rag-description { margin: 0; color: var(--body-text-color-subdued); }
.rag-status { font-size: .85rem; color: var(--body-text-color-subdued); }
#rag-bridge { display: none !important; }

.rag-answer p { margin: .25rem 0; }
.rag-answer blockquote.rag-quote-block {
  border-left: 4px solid var(--color-accent); margin: .45rem 0; padding: .35rem .8rem;
  background: var(--background-fill-secondary); border-radius: 0 6px 6px 0;
}
.rag-answer .rag-said { font-size: .85rem; color: var(--body-text-color-subdued); }
.rag-answer .rag-verbatim { font-size: 1.02rem; line-height: 1.7; }
.rag-answer .rag-cite-line { font-size: .9rem; text-align: right; }
.rag-answer .rag-note { font-size: .85rem; color: var(--body-text-color-subdued);
  font-style: italic; }
.rag-answer .rag-related { margin: .2rem 0 0 1.1rem; padding: 0; }
.rag-answer .rag-related li { margin: .25rem 0; color: var(--body-text-color-subdued); }
.rag-answer .rag-related-title { font-weight: 600; margin-top: .5rem; }
.rag-tools { margin-top: .35rem; text-align: right; }
button.rag-copy {
  font-size: .78rem; padding: 1px 10px; cursor: pointer; border-radius: 4px;
  border: 1px solid var(--border-color-primary); background: transparent;
  color: var(--body-text-color-subdued);
}
button.rag-copy:hover { color: var(--body-text-color); }

.rag-callout { padding: .55rem .8rem; border-radius: 6px; border: 1px solid; display: flex;
  flex-direction: column; gap: .15rem; }
.rag-callout-refusal { border-color: #d97706; background: #fff7ed; color: #7c2d12; }
.rag-callout-error { border-color: #dc2626; background: #fef2f2; color: #7f1d1d; }
.rag-callout-info { border-color: #2563eb; background: #eff6ff; color: #1e3a8a; }
.dark .rag-callout-refusal { background: #431407; color: #fed7aa; }
.dark .rag-callout-error { background: #450a0a; color: #fecaca; }
.dark .rag-callout-info { background: #172554; color: #bfdbfe; }

a.rag-cite { color: var(--link-text-color); text-decoration: underline dotted; cursor: pointer; }
a.rag-cite:hover { text-decoration: underline solid; }
.rag-score { font-size: .78rem; color: var(--body-text-color-subdued); }
mark.rag-quote, mark.rag-legend { background: #fde68a; color: inherit; padding: 0 1px;
  border-radius: 2px; }
.dark mark.rag-quote, mark.rag-legend { background: #854d0e; }
mark.rag-quote.rag-flash { outline: 2px solid #f59e0b; outline-offset: 1px; }
.rag-term { text-decoration: underline 2px #2563eb; text-underline-offset: 3px; font-weight: 600; }

.rag-panel-empty { color: var(--body-text-color-subdued); font-size: .9rem; padding: .4rem 0; }
.rag-panel-head { font-size: .85rem; color: var(--body-text-color-subdued); margin-bottom: .3rem; }
.rag-panel-refusal { color: #b45309; }
.rag-src { border: 1px solid var(--border-color-primary); border-radius: 6px;
  padding: .5rem .7rem; margin: .45rem 0; }
.rag-src-related { border-style: dashed; }
.rag-src-meta { font-size: .85rem; margin-bottom: .25rem; }
.rag-src-text { line-height: 1.75; }
.rag-section { color: var(--body-text-color-subdued); }

.rag-doc { line-height: 1.8; }
.rag-doc-head { position: sticky; top: 0; background: var(--background-fill-primary);
  padding: .25rem 0; border-bottom: 1px solid var(--border-color-primary); z-index: 1; }
.rag-doc-meta { margin-left: .6rem; font-size: .8rem; color: var(--body-text-color-subdued); }
.rag-doc h3.rag-h-title { font-size: 1.15rem; text-align: center; margin: .8rem 0 .3rem; }
.rag-doc h4.rag-h-section { font-size: 1rem; margin: .9rem 0 .3rem; }
.rag-doc .rag-h-kicker, .rag-doc .rag-h-subtitle { text-align: center; font-size: .95rem; }
.rag-doc .rag-h-meta { text-align: center; font-size: .85rem;
  color: var(--body-text-color-subdued); }
.rag-doc p.rag-para, .rag-doc p.rag-other { margin: .35rem 0; }
.rag-doc p.rag-other { color: var(--body-text-color-subdued); }
.rag-pno { display: inline-block; min-width: 2.2em; margin-right: .35rem; font-size: .75rem;
  color: var(--body-text-color-subdued); user-select: none; }
"""

# Runs once per page from the hidden bridge component (gr.HTML js_on_load, which provides
# `element`, `props` and `trigger`). One capturing listener on the document handles citation
# links and copy buttons wherever they are (chat bubbles, sources panel), because the chat's
# sanitiser keeps neither inline handlers nor data-* attributes.
BRIDGE_JS = r"""
const bridge = window.__ragBridge || (window.__ragBridge = {});
bridge.props = props;
bridge.trigger = trigger;
if (!bridge.bound) {
  bridge.bound = true;
  const scrollToId = (id) => {
    const started = Date.now();
    const tick = () => {
      const el = document.getElementById(id);
      if (el && el.offsetParent !== null) {
        el.scrollIntoView({ block: "center" });
        el.classList.add("rag-flash");
        setTimeout(() => el.classList.remove("rag-flash"), 1600);
        return;
      }
      if (Date.now() - started < 10000) setTimeout(tick, 50);
    };
    tick();
  };
  const copyText = async (text) => {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (err) {
      const area = document.createElement("textarea");
      area.value = text;
      area.style.position = "fixed";
      area.style.left = "-9999px";
      document.body.appendChild(area);
      area.select();
      let ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      area.remove();
      return ok;
    }
  };
  document.addEventListener("click", (ev) => {
    const start = ev.target instanceof Element ? ev.target : ev.target && ev.target.parentElement;
    if (!start) return;
    const link = start.closest("a.rag-cite");
    if (link) {
      const match = /^#rag-cite:([^:]+:\d+:\d+)$/.exec(link.getAttribute("href") || "");
      if (!match) return;
      ev.preventDefault();
      ev.stopPropagation();
      const key = match[1];
      bridge.props.value = key + "#" + Date.now();
      bridge.trigger("cite", { key: key });
      scrollToId("rag-hl:" + key);
      return;
    }
    const button = start.closest("button.rag-copy");
    if (button) {
      ev.preventDefault();
      ev.stopPropagation();
      const answer = button.closest(".rag-answer");
      const body = answer && answer.querySelector(".rag-body");
      if (!body) return;
      if (!button.__ragLabel) button.__ragLabel = button.textContent;
      copyText(body.innerText.trim()).then((ok) => {
        button.textContent = ok ? "已复制" : "复制失败";
        clearTimeout(button.__ragTimer);
        button.__ragTimer = setTimeout(() => { button.textContent = button.__ragLabel; }, 1500);
      });
    }
  }, true);
}
"""

__all__ = ["BRIDGE_JS", "CSS", "FONTS", "theme"]
