/* The ask page: question -> answer with clickable [n] markers, sources, people to ask, feedback. */
"use strict";

(() => {
  const { api, onReady, el, inline, safeUrl } = WK;
  const $ = (id) => document.getElementById(id);
  const form = $("ask-form");
  const question = $("question");
  const askButton = $("ask-button");
  const result = $("result");
  const answerBox = $("answer");
  const errorBox = $("ask-error");
  const passage = $("passage");
  const feedbackStatus = $("feedback-status");
  let current = null; // the answer on screen
  let opener = null; // the button that opened the passage, to give focus back

  onReady(loadChannels);

  async function loadChannels() {
    const select = $("channel");
    try {
      const channels = await api("/channels");
      select.querySelectorAll("option:not([value=''])").forEach((o) => o.remove());
      channels.forEach((name) => select.append(el("option", { value: name, text: name })));
    } catch (err) {
      /* the filter stays at "Any channel"; asking still works */
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = question.value.trim();
    if (!text) {
      errorBox.textContent = "Type a question first.";
      question.focus();
      return;
    }
    const kinds = [...form.querySelectorAll("input[name=kind]:checked")].map((box) => box.value);
    const channel = $("channel").value;
    const filters = {};
    if (kinds.length) filters.kind = kinds;
    if (channel) filters.channel = [channel];
    const body = { question: text };
    if (Object.keys(filters).length) body.filters = filters;
    errorBox.textContent = "";
    askButton.disabled = true;
    answerBox.setAttribute("aria-busy", "true");
    askButton.textContent = "Asking…";
    try {
      render(await api("/ask", { json: body }));
    } catch (err) {
      errorBox.textContent = err.message;
    } finally {
      askButton.disabled = false;
      askButton.textContent = "Ask";
      answerBox.setAttribute("aria-busy", "false");
    }
  });

  function render(answer) {
    current = answer;
    closePassage(false);
    result.hidden = false;
    answerBox.replaceChildren(...answerNodes(answer));
    $("confidence").textContent = answer.abstained
      ? "No confident answer in the knowledge base."
      : "Confidence " + Math.round(answer.confidence * 100) + "% · " + Math.round(answer.latency_ms) + " ms";
    $("sources").replaceChildren(...answer.citations.map(sourceItem));
    $("sources-heading").hidden = answer.citations.length === 0;
    $("people").replaceChildren(...answer.experts.map(personCard));
    $("people-heading").hidden = answer.experts.length === 0;
    document.querySelectorAll(".thumb").forEach((b) => { b.setAttribute("aria-pressed", "false"); b.disabled = false; });
    feedbackStatus.textContent = "";
  }

  /** The answer text with each [n] turned into a button that opens source n. */
  function answerNodes(answer) {
    const byN = new Map(answer.citations.map((c) => [String(c.n), c]));
    const para = el("p");
    answer.answer.split(/(\[\d+\])/).forEach((part) => {
      const m = /^\[(\d+)\]$/.exec(part);
      const cite = m && byN.get(m[1]);
      if (cite) {
        para.append(el("button", {
          type: "button", className: "cite", text: "[" + cite.n + "]", "data-n": cite.n,
          "aria-label": "Source " + cite.n + ": " + cite.title, "aria-controls": "passage", "aria-expanded": "false",
        }));
      } else if (part) {
        para.append(...inline(part));
      }
    });
    return [para];
  }

  function sourceItem(c) {
    const meta = [c.kind, c.date ? c.date.slice(0, 10) : null, c.authors.length ? "by " + c.authors.join(", ") : null]
      .filter(Boolean).join(" · ");
    return el("li", { id: "source-" + c.n },
      el("button", { type: "button", className: "link source-link", "data-n": c.n, "aria-controls": "passage",
                     "aria-expanded": "false", text: c.title + (c.section ? " › " + c.section : "") }),
      el("span", { className: "meta", text: " " + meta }));
  }

  function personCard(e) {
    const status = e.active === false ? el("span", { className: "badge", text: "has left" }) : null;
    return el("li", { className: "card" },
      el("h4", {}, e.name, status ? " " : null, status),
      e.team ? el("p", { className: "meta", text: e.team }) : null,
      el("p", { className: "why", text: "Why: " + e.why }),
      el("p", { className: "more" }, el("a", { className: "profile-link", href: "/profile?name=" +
        encodeURIComponent(e.name), text: "What else does " + e.name + " know?" })));
  }

  document.addEventListener("click", (event) => {
    const target = event.target.closest("button[data-n]");
    if (target && current) openPassage(Number(target.dataset.n), target);
  });

  function openPassage(n, button) {
    const c = current.citations.find((x) => x.n === n);
    if (!c) return;
    opener = button;
    document.querySelectorAll("button[data-n]").forEach((b) => {
      b.setAttribute("aria-expanded", String(Number(b.dataset.n) === n));
    });
    $("passage-title").textContent = "[" + c.n + "] " + c.title;
    $("passage-meta").textContent = [c.kind, c.section, c.date ? c.date.slice(0, 10) : null,
      c.authors.length ? "by " + c.authors.join(", ") : null].filter(Boolean).join(" · ");
    $("passage-quote").replaceChildren(...inline(c.quote));
    const url = c.url && safeUrl(c.url);
    $("passage-source").replaceChildren("Source: ", url
      ? el("a", { href: url, rel: "noopener noreferrer", target: "_blank", text: c.source })
      : el("code", { text: c.source }));
    const doc = $("passage-document");
    doc.hidden = true;
    doc.replaceChildren();
    $("passage-open").dataset.docId = c.doc_id;
    passage.hidden = false;
    passage.focus();
  }

  function closePassage(restoreFocus) {
    passage.hidden = true;
    document.querySelectorAll("button[data-n]").forEach((b) => b.setAttribute("aria-expanded", "false"));
    if (restoreFocus && opener) opener.focus();
  }

  $("passage-close").addEventListener("click", () => closePassage(true));
  passage.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closePassage(true);
  });

  $("passage-open").addEventListener("click", async (event) => {
    const doc = $("passage-document");
    try {
      const d = await api("/documents/" + encodeURIComponent(event.target.dataset.docId));
      doc.replaceChildren(el("h4", { text: d.title }), el("div", { className: "doc-text", text: d.text }));
    } catch (err) {
      doc.replaceChildren(el("p", { className: "error", text: err.message }));
    }
    doc.hidden = false;
  });

  document.querySelectorAll(".thumb").forEach((button) => {
    button.addEventListener("click", async () => {
      if (!current || !current.question_id) return;
      const helpful = button.dataset.helpful === "true";
      try {
        await api("/feedback", { json: { question_id: current.question_id, helpful } });
        document.querySelectorAll(".thumb").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
        feedbackStatus.textContent = "Thanks - your feedback was recorded.";
      } catch (err) {
        feedbackStatus.textContent = "Feedback not recorded: " + err.message;
      }
    });
  });
})();
