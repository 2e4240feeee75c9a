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
    # Text colours chosen for at least 4.5:1 against their backgrounds (WCAG AA): the
    # default grey of notes and placeholders and white on red-500 measure 2–3.8:1.
    return gr.themes.Default(
        primary_hue="red",
        font=[gr.themes.Font(name) for name in FONTS] + ["sans-serif"],
        font_mono=[gr.themes.Font(name) for name in MONO_FONTS] + ["monospace"],
    ).set(
        body_text_color_subdued="#4b5563",
        body_text_color_subdued_dark="#d1d5db",
        block_info_text_color="#4b5563",
        block_info_text_color_dark="#d1d5db",
        input_placeholder_color="#6b7280",
        input_placeholder_color_dark="#9ca3af",
        button_primary_background_fill="#b91c1c",
        button_primary_background_fill_hover="#991b1b",
        button_primary_background_fill_dark="#b91c1c",
        button_primary_background_fill_hover_dark="#991b1b",
        button_primary_text_color="#ffffff",
        button_primary_text_color_dark="#ffffff",
        button_secondary_text_color="#1f2937",
        link_text_color="#1d4ed8",
        link_text_color_visited="#6d28d9",
        link_text_color_hover="#1e40af",
        link_text_color_dark="#93c5fd",
        link_text_color_visited_dark="#c4b5fd",
        link_text_color_hover_dark="#bfdbfe",
    )


CSS = """
.rag-header .rag-title { font-size: 1.45rem; margin: 0 0 .2rem 0; }
.rag-header .rag-description { margin: 0; color: var(--body-text-color-subdued); }
.rag-status { font-size: .85rem; color: var(--body-text-color-subdued); }
#rag-bridge { display: none !important; }
.rag-hidden { display: none !important; }
#rag-offline { position: fixed; left: 0; right: 0; top: 0; z-index: 1000; padding: .7rem 1rem;
  background: #7f1d1d; color: #ffffff; text-align: center; font-weight: 600; }

.rag-answer p { margin: .25rem 0; }
.rag-answer blockquote.rag-quote-block {
  border-left: 4px solid var(--color-accent); margin: .45rem 0; padding: .35rem .8rem;
  background: var(--background-fill-secondary); border-radius: 0 6px 6px 0;
}
.rag-answer .rag-said { font-size: .85rem; color: var(--body-text-color-subdued); }
.rag-answer .rag-verbatim { font-size: 1.02rem; line-height: 1.7; }
.rag-answer .rag-cite-line { font-size: .9rem; text-align: right; }
.rag-answer .rag-note { font-size: .85rem; color: var(--body-text-color-subdued); }
/* No faux italics: Chinese fonts have no italic face, so emphasis is shown by colour. */
#rag-chat em, #rag-sources em, #rag-document em, .rag-answer em { font-style: normal; }
.rag-answer .rag-lead { font-weight: 600; margin: .2rem 0 .4rem; }
.rag-pending { display: flex; align-items: center; gap: .5rem; color: var(--body-text-color); }
.rag-spinner { width: 1rem; height: 1rem; border-radius: 50%;
  border: 2px solid #9ca3af; border-top-color: #b91c1c; animation: rag-spin .8s linear infinite; }
@keyframes rag-spin { to { transform: rotate(360deg); } }
@media (prefers-reduced-motion: reduce) { .rag-spinner { animation: none; } }
#rag-counter { margin-top: -.4rem; }
/* The 检索范围 choice (several documents and kinds): 44 px tap targets, text at 4.5:1. */
#rag-scope-row { flex-wrap: wrap; align-items: flex-end; gap: .5rem; }
#rag-scope input { min-height: 44px; }
#rag-scope .token { min-height: 44px; }
#rag-scope .token-remove { box-sizing: border-box; min-width: 44px; min-height: 44px;
  padding: 14px; margin: 0; }
#rag-scope-all { min-height: 44px; }
.rag-scope-line { margin: 0; font-size: .9rem; color: var(--body-text-color); }
#rag-scope .info, #rag-scope [data-testid="block-info"] + div { color: #374151; }
.rag-hint { font-size: .82rem; color: var(--body-text-color-subdued); margin: 0; }
.rag-hint-over .rag-count { color: #b45309; font-weight: 600; }
.rag-hint-empty { color: #b91c1c; }
#rag-question textarea::placeholder { color: #6b7280; opacity: 1; }
#rag-examples { gap: .35rem; }
#rag-examples button { justify-content: flex-start; text-align: left; white-space: normal;
  min-height: 44px; }
#rag-conversations { align-items: center; gap: .5rem; }
#rag-conversations button, #rag-settings button, #rag-library button { min-height: 44px; }
/* Inside the chat bubbles Gradio tints text; these keep 4.5:1 on the bubble's grey. */
#rag-chat .rag-answer .rag-said, #rag-chat .rag-answer .rag-note,
#rag-chat .rag-answer .rag-related li { color: #374151; }
#rag-chat a.rag-cite, #rag-chat a.rag-cite:visited { color: #1e40af !important; }
.dark #rag-chat .rag-answer .rag-said, .dark #rag-chat .rag-answer .rag-note,
.dark #rag-chat .rag-answer .rag-related li { color: #d1d5db; }
.dark #rag-chat a.rag-cite { color: #93c5fd; }
/* 赞 before 踩, and tap targets of at least 44 px for the chat's own buttons. */
#rag-chat .message-buttons, #rag-chat [class*="message-buttons"] { gap: .25rem; }
#rag-chat button[aria-label*="ike"], #rag-chat .message-buttons button,
#rag-chat button[aria-label*="lear"], #rag-chat button[title] {
  min-width: 44px; min-height: 44px; }
#rag-chat button[aria-label="Like"], #rag-chat button[aria-label="赞"] { order: -1; }
.rag-doc-table { width: 100%; border-collapse: collapse; font-size: .9rem; }
.rag-doc-table caption { text-align: left; font-weight: 600; padding: .2rem 0; }
.rag-doc-table th, .rag-doc-table td { border-bottom: 1px solid var(--border-color-primary);
  padding: .35rem .4rem; text-align: left; vertical-align: top; }
.rag-doc-table .rag-num { text-align: right; white-space: nowrap; }
.rag-doc-table a.rag-doc-link { color: var(--link-text-color); }
button.rag-remove, button.rag-upload-send, button.rag-back {
  min-height: 44px; min-width: 44px; padding: 0 .8rem; border-radius: 6px; cursor: pointer;
  border: 1px solid var(--border-color-primary); background: var(--background-fill-primary);
  color: var(--body-text-color); }
button.rag-remove.rag-confirm { border-color: #b91c1c; color: #b91c1c; font-weight: 600; }
.rag-upload-form { display: flex; flex-direction: column; gap: .45rem; margin-top: .6rem; }
.rag-upload-form input[type=file] { min-height: 44px; }
.rag-upload-status { font-size: .88rem; }
.rag-upload-progress { width: 100%; height: 1rem; }
.rag-doc-body { display: flex; gap: .8rem; align-items: flex-start; }
.rag-outline { flex: 0 0 34%; max-width: 34%; position: sticky; top: 2.6rem;
  max-height: 560px; overflow: auto; font-size: .85rem; line-height: 1.5; }
.rag-outline summary { font-weight: 600; cursor: pointer; min-height: 32px; }
.rag-outline ol { list-style: none; margin: 0; padding: 0; }
.rag-outline li { margin: .1rem 0; }
.rag-outline .rag-outline-l1 { padding-left: .8rem; }
.rag-outline .rag-outline-l2 { padding-left: 1.6rem; }
.rag-outline .rag-outline-l3 { padding-left: 2.4rem; }
.rag-outline a { color: var(--link-text-color); text-decoration: none; display: block;
  padding: .1rem .2rem; border-radius: 4px; }
.rag-outline a:hover { text-decoration: underline; }
.rag-outline a.rag-outline-here { background: #fde68a; color: #1f2937; font-weight: 600; }
.rag-doc-text { flex: 1 1 auto; min-width: 0; }
.rag-doc-head .rag-back { margin-left: .6rem; }
@media (max-width: 640px) {
  #rag-chat { height: 46vh !important; min-height: 260px; }
  .rag-header .rag-title { font-size: 1.15rem; }
  .rag-header .rag-description { font-size: .85rem; }
  #rag-ask-row { flex-wrap: nowrap; }
  #rag-ask-row button { min-width: 64px !important; min-height: 44px; white-space: nowrap;
    padding: 0 .6rem; }
  #rag-examples button { width: 100%; }
  .rag-doc-body { flex-direction: column; }
  .rag-outline { position: static; max-width: 100%; flex: 1 1 auto; max-height: 40vh; }
  .rag-outline details:not([open]) ol { display: none; }
  /* A citation stays on one line (ellipsis; the full text is its title) and is 44 px tall. */
  .rag-answer .rag-cite-line { text-align: left; margin: 0; }
  a.rag-cite { display: inline-block; max-width: calc(100% - 2.2em); min-height: 44px;
    line-height: 44px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
    vertical-align: middle; }
}
.rag-answer .rag-related { margin: .2rem 0 0 1.1rem; padding: 0; }
.rag-answer .rag-related li { margin: .25rem 0; color: var(--body-text-color-subdued); }
.rag-answer .rag-related-title { font-weight: 600; margin-top: .5rem; }
.rag-tools { margin-top: .35rem; text-align: right; }
button.rag-copy {
  font-size: .8rem; padding: 0 12px; min-height: 44px; min-width: 44px; cursor: pointer;
  border-radius: 6px; border: 1px solid var(--border-color-primary); background: transparent;
  color: var(--body-text-color);
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
  padding: .35rem 0; border-bottom: 1px solid var(--border-color-primary); z-index: 1;
  box-shadow: 0 -.6rem 0 var(--background-fill-primary); }
.rag-doc-meta { margin-left: .6rem; font-size: .8rem; color: var(--body-text-color-subdued); }
.rag-doc h3.rag-h-title { font-size: 1.15rem; text-align: center; margin: .8rem 0 .3rem; }
.rag-doc h4.rag-h-section { font-size: 1rem; margin: .9rem 0 .3rem; }
.rag-doc .rag-h-kicker, .rag-doc .rag-h-subtitle { text-align: center; font-size: .95rem; }
.rag-doc .rag-h-meta { text-align: center; font-size: .85rem;
  color: var(--body-text-color-subdued); }
.rag-doc p.rag-para, .rag-doc p.rag-other { margin: .35rem 0; }
.rag-doc p.rag-other { color: var(--body-text-color-subdued); }
.rag-prole { display: inline-block; margin-right: .35rem; font-size: .75rem;
  color: var(--body-text-color-subdued); user-select: none; }
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
      bridge.returnTo = link;
      scrollToDocument();
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
    const docLink = start.closest("a.rag-doc-link");
    if (docLink) {
      const match = /^#rag-doc:(.+)$/.exec(docLink.getAttribute("href") || "");
      if (!match) return;
      ev.preventDefault();
      bridge.returnTo = docLink;
      bridge.props.value = match[1] + ":0:0#" + Date.now();
      bridge.trigger("cite", { key: match[1] + ":0:0" });
      scrollToDocument();
      return;
    }
    const outlineLink = start.closest("a.rag-outline-link");
    if (outlineLink) {
      ev.preventDefault();
      const id = (outlineLink.getAttribute("href") || "").slice(1);
      const target = document.getElementById(id);
      if (target) {
        target.scrollIntoView({ block: "start" });
        target.classList.add("rag-flash");
        setTimeout(() => target.classList.remove("rag-flash"), 1600);
      }
      return;
    }
    const back = start.closest("button.rag-back");
    if (back) {
      ev.preventDefault();
      const to = bridge.returnTo;
      if (to && document.contains(to)) {
        to.scrollIntoView({ block: "center" });
        to.focus({ preventScroll: true });
      } else {
        const chat = document.getElementById("rag-chat");
        if (chat) chat.scrollIntoView({ block: "start" });
      }
      return;
    }
    const remove = start.closest("button.rag-remove");
    if (remove) {
      ev.preventDefault();
      if (!remove.classList.contains("rag-confirm")) {
        remove.classList.add("rag-confirm");
        remove.textContent = "确认删除";
        setTimeout(() => {
          remove.classList.remove("rag-confirm");
          remove.textContent = "删除";
        }, 5000);
        return;
      }
      sendDocument("DELETE", remove.value, null);
    }
  }, true);

  // -- a citation opened on a phone: scroll to the document, offer the way back -------------
  const scrollToDocument = () => {
    const started = Date.now();
    const tick = () => {
      const back = document.querySelector("#rag-document button.rag-back");
      if (back && back.classList.contains("rag-hidden")) {
        back.classList.remove("rag-hidden");
        const doc = document.getElementById("rag-document");
        if (doc && window.innerWidth <= 900) doc.scrollIntoView({ block: "start" });
        return;
      }
      if (Date.now() - started < 10000) setTimeout(tick, 60);
    };
    tick();
  };

  // -- characters typed, and the limit ------------------------------------------------------
  document.addEventListener("input", (ev) => {
    const box = ev.target;
    if (!(box instanceof HTMLTextAreaElement) || !box.closest("#rag-question")) return;
    const hint = document.querySelector("#rag-counter .rag-hint");
    if (!hint) return;
    if (hint.classList.contains("rag-hint-empty")) return;
    const count = hint.querySelector(".rag-count");
    if (count) count.textContent = String(box.value.length);
    const limit = parseInt((hint.textContent.match(/前 (\d+) 字/) || [0, 500])[1], 10);
    hint.classList.toggle("rag-hint-over", box.value.length > limit);
  }, true);

  // -- adding and removing documents --------------------------------------------------------
  const apiUrl = (path) => new URL(path, window.location.href.split("#")[0]).toString();
  const statusBox = () => document.querySelector(".rag-upload-status");
  const progressBar = () => document.querySelector(".rag-upload-progress");
  const say = (text) => { const box = statusBox(); if (box) box.textContent = text; };
  const poll = () => {
    fetch(apiUrl("api/build"), { credentials: "same-origin" }).then((r) => r.json()).then((st) => {
      const bar = progressBar();
      if (bar) { bar.hidden = false; bar.value = st.progress || 0; }
      say(st.message || "");
      if (st.state === "running") { setTimeout(poll, 400); return; }
      if (bar) bar.hidden = st.state !== "running";
      bridge.trigger("library", { state: st.state });
    }).catch(() => setTimeout(poll, 1000));
  };
  const sendDocument = (method, name, body) => {
    say(method === "PUT" ? "正在上传 " + name + " …" : "正在删除 " + name + " …");
    fetch(apiUrl("api/documents/" + encodeURIComponent(name)), {
      method: method, body: body, credentials: "same-origin",
      headers: body ? { "Content-Type": "application/octet-stream" } : {},
    }).then(async (r) => {
      const data = await r.json().catch(() => ({}));
      if (!r.ok) {
        say(typeof data.detail === "string" ? data.detail : "请求被拒绝（" + r.status + "）");
        return;
      }
      poll();
    }).catch(() => say("与服务器的连接已中断，请稍后再试。"));
  };
  document.addEventListener("submit", (ev) => {
    const form = ev.target instanceof Element && ev.target.closest("form.rag-upload-form");
    if (!form) return;
    ev.preventDefault();
    const input = form.querySelector("input[type=file]");
    const file = input && input.files && input.files[0];
    if (!file) { say("请先选择一个文件。"); return; }
    sendDocument("PUT", file.name, file);
  }, true);

  // -- Chinese names for what screen readers announce, and a lost connection ---------------
  const LABELS = [
    ["#rag-question textarea", "aria-label", "输入问题"],
    ["#rag-chat [role=log]", "aria-label", "对话记录"],
    ["#rag-chat", "aria-label", "对话记录"],
    // The document view scrolls: keyboard users must be able to reach it.
    ["#rag-document", "tabindex", "0"],
    ["#rag-document", "role", "region"],
    ["#rag-document", "aria-label", "原文"],
    ["footer img", "alt", ""],  // decorative: the link's text says where it goes
    ["#rag-chat button[aria-label=Like]", "aria-label", "赞"],
    ["#rag-chat button[aria-label=Dislike]", "aria-label", "踩"],
    ["#rag-chat button[aria-label=Clear]", "aria-label", "清空对话"],
  ];
  const TOASTS = [
    [/Connection errored out\.?/g, "与服务器的连接已中断，请检查网络后刷新页面。"],
    [/Lost connection.*$/g, "与服务器的连接已中断，请检查网络后刷新页面。"],
    [/This application is currently busy\. Please try again\.?/g, "服务器繁忙，请稍后再试。"],
    [/^Error$/g, "出错了"],
  ];
  const patch = () => {
    for (const [selector, attr, value] of LABELS) {
      document.querySelectorAll(selector).forEach((el) => {
        if (el.getAttribute(attr) !== value) el.setAttribute(attr, value);
      });
    }
    // The scope's chosen documents: each remove button named by what it removes.
    document.querySelectorAll("#rag-scope .token").forEach((token) => {
      const remove = token.querySelector(".token-remove");
      const name = "移除" + (token.textContent || "").trim();
      if (remove && remove.getAttribute("aria-label") !== name) {
        remove.setAttribute("aria-label", name);
        remove.setAttribute("title", name);
      }
    });
    document.querySelectorAll("#rag-scope .remove-all").forEach((el) => {
      if (el.getAttribute("aria-label") !== "清除检索范围") {
        el.setAttribute("aria-label", "清除检索范围");
        el.setAttribute("title", "清除检索范围（全部文件）");
      }
    });
    // 赞 before 踩, in reading and tab order too (Gradio puts 踩 first).
    document.querySelectorAll("#rag-chat button[aria-label='赞']").forEach((like) => {
      const prev = like.previousElementSibling;
      const before = prev && prev.getAttribute("aria-label") === "踩";
      if (before) like.parentNode.insertBefore(like, prev);
    });
    document.querySelectorAll(".toast-body, .toast-title, .toast-text, [data-testid=toast-body]")
      .forEach((el) => {
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
          let text = n.nodeValue;
          for (const [pattern, chinese] of TOASTS) text = text.replace(pattern, chinese);
          if (text !== n.nodeValue) n.nodeValue = text;
        }
      });
  };
  let queued = false;
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; patch(); });
  }).observe(document.body, { childList: true, subtree: true });
  patch();
  const banner = () => {
    let el = document.getElementById("rag-offline");
    if (!el) {
      el = document.createElement("div");
      el.id = "rag-offline";
      el.setAttribute("role", "alert");
      el.textContent = "网络连接已断开：恢复连接后请刷新页面，再继续提问。";
      document.body.appendChild(el);
    }
    return el;
  };
  window.addEventListener("offline", () => { banner().hidden = false; });
  window.addEventListener("online", () => { banner().hidden = true; });
}
"""

__all__ = ["BRIDGE_JS", "CSS", "FONTS", "theme"]
