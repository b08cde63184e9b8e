/* The knowledge managers' page: GET /gaps drawn as headline numbers, charts and lists. */
"use strict";

(() => {
  const { api, onReady, el } = WK;
  const $ = (id) => document.getElementById(id);
  const out = $("gaps");
  const errorBox = $("gaps-error");
  const SVG = "http://www.w3.org/2000/svg";

  onReady(load);
  $("gaps-form").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });

  async function load() {
    errorBox.textContent = "";
    out.setAttribute("aria-busy", "true");
    const days = $("days").value;
    try {
      const report = await api("/gaps" + (days ? "?since=" + encodeURIComponent(days) : ""));
      out.replaceChildren(...render(report));
      out.hidden = false;
    } catch (err) {
      errorBox.textContent = err.status === 404 ? "The gap report is not available on this server." : err.message;
    } finally {
      out.setAttribute("aria-busy", "false");
    }
  }

  const day = (iso) => (iso ? String(iso).slice(0, 10) : "");
  const docLine = (d) => d.title + " (" + d.kind + ", " + (d.date ? day(d.date) : "undated") + ")" +
    (d.authors && d.authors.length ? " - " + d.authors.join(", ") : "") +
    " · cited " + d.citations + "×";

  function render(r) {
    if (!r.log_enabled) {
      return [el("p", { text: "The query log is off on this server (WHOKNOWS_QUERY_LOG=off): there is nothing to report." })];
    }
    const sp = r.single_points || { topics: [], documents: [], inactive: [] };
    const parts = [
      el("dl", { className: "stats" },
        stat("Questions", r.questions), stat("Unanswered", r.unanswered), stat("People asking", r.askers),
        stat("Unanswered topics", r.unanswered_topics.length), stat("Only in chat", r.only_in_chat.length),
        stat("Stale but cited", r.stale.length)),
    ];
    parts.push(section("trend", "Questions per week",
      r.trend.length ? weekChart(r.trend) : empty("No questions in this period.")));
    parts.push(section("unanswered", "Asked but not answered",
      r.unanswered_topics.length ? [
        barChart("Unanswered questions by topic", r.unanswered_topics.map((t) => [t.label, t.count])),
        el("ul", { className: "cards" }, r.unanswered_topics.map(topicCard)),
      ] : empty("Every question in this period found an answer.")));
    parts.push(section("chat", "Known only from chat threads",
      r.only_in_chat.length ? el("ul", {}, r.only_in_chat.map((t) => el("li", { className: "chat-topic" },
        el("strong", { text: t.label }), " - answered " + t.count + "× from threads only ",
        el("button", { type: "button", className: "secondary codify", "data-topic": t.label,
                       text: "Draft a page" }),
        el("ul", {}, t.threads.map((d) => el("li", { className: "meta", text: docLine(d) }))),
        el("div", { className: "draft", "aria-live": "polite" })))) :
        empty("No topic is answered from chat alone.")));
    const single = [];
    sp.topics.forEach((t) => single.push(el("li", {}, el("strong", { text: t.label }), " - only " + t.person +
      (t.active === false ? " (has left)" : "") + " · asked " + t.count + "×")));
    sp.documents.forEach((s) => single.push(el("li", {}, el("strong", { text: s.document.title }), " - only " +
      s.person + (s.active === false ? " (has left)" : "") + " · cited " + s.document.citations + "×")));
    parts.push(section("single", "Held by one person",
      single.length ? [
        sp.inactive.length ? barChart("Citations of knowledge held only by people who left",
          sp.inactive.map((h) => [h.person, h.citations])) : null,
        el("ul", {}, single)] : empty("No topic or document depends on a single person.")));
    parts.push(section("stale", "Old but still relied on",
      r.stale.length ? el("ul", {}, r.stale.map((s) => el("li", {}, docLine(s.document) + " · " + s.age_days +
        " days old"))) : empty("Nothing cited is older than " + r.stale_after_days + " days.")));
    return parts;
  }

  /* "Draft a page": POST /codify with the topic, and show the Markdown draft under it. */
  out.addEventListener("click", async (event) => {
    const button = event.target.closest("button.codify");
    if (!button) return;
    const box = button.parentElement.querySelector(".draft");
    button.disabled = true;
    box.replaceChildren(el("p", { className: "meta", text: "Drafting…" }));
    try {
      const d = await api("/codify", { json: { target: button.dataset.topic } });
      box.replaceChildren(
        el("p", { className: "meta", text: "Draft “" + d.title + "” · status " + d.status + " · authors: " +
          (d.authors.join(", ") || "none") + " · " + d.sources.length + " threads · " + d.to_confirm.length +
          " to confirm" }),
        el("pre", { className: "draft-md", tabindex: "0", text: d.markdown }));
    } catch (err) {
      box.replaceChildren(el("p", { className: "error", text: err.message }));
    } finally {
      button.disabled = false;
    }
  });

  function stat(label, value) {
    return el("div", {}, el("dt", { text: label }), el("dd", { text: String(value ?? 0) }));
  }

  function empty(text) {
    return el("p", { className: "meta", text });
  }

  function section(id, title, body) {
    return el("section", { className: "panel", "aria-labelledby": "gaps-" + id },
      el("h2", { id: "gaps-" + id, text: title }), body);
  }

  function topicCard(t) {
    const why = [t.abstained ? t.abstained + " no answer" : null, t.low_confidence ? t.low_confidence + " unsure" : null,
      t.thumbs_down ? t.thumbs_down + " thumbs down" : null].filter(Boolean).join(", ");
    return el("li", { className: "card" },
      el("h3", { text: t.label }),
      el("p", { className: "meta", text: t.count + " asked by " + (t.askers.length || "unknown") +
        (t.askers.length === 1 ? " person" : t.askers.length ? " people" : "") + (why ? " · " + why : "") }),
      el("ul", {}, t.questions.map((q) => el("li", { text: "“" + q.question + "”" }))),
      t.colleagues.length ? el("p", { className: "why", text: "Ask to write it down: " +
        t.colleagues.map((c) => c.name + (c.team ? " (" + c.team + ")" : "")).join(", ") }) : null);
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    Object.entries(attrs).forEach(([k, v]) => node.setAttribute(k, String(v)));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** Horizontal bars (top 12), with the numbers as the chart's text alternative. */
  function barChart(title, pairs) {
    const rows = pairs.slice(0, 12);
    const max = Math.max(1, ...rows.map(([, v]) => v));
    const rowH = 26, labelW = 220, width = 640, barW = width - labelW - 50;
    const chart = svg("svg", { viewBox: "0 0 " + width + " " + (rows.length * rowH + 8), class: "chart", role: "img",
      "aria-label": title + ": " + rows.map(([k, v]) => k + " " + v).join(", ") });
    rows.forEach(([label, value], i) => {
      const y = i * rowH + 4, w = Math.max(2, (value / max) * barW), name = String(label);
      chart.append(
        svg("text", { x: labelW - 8, y: y + 16, "text-anchor": "end" }, name.length > 32 ? name.slice(0, 31) + "…" : name),
        svg("rect", { x: labelW, y: y + 3, height: rowH - 8, width: w, class: "bar" }),
        svg("text", { x: labelW + w + 6, y: y + 16 }, String(value)));
    });
    return el("figure", {}, el("figcaption", { text: title }), chart);
  }

  /** Weekly columns: asked (light) with the unanswered part (dark) in front. */
  function weekChart(points) {
    const pts = points.slice(-26);
    const max = Math.max(1, ...pts.map((p) => p.asked));
    const width = 640, height = 180, left = 30, bottom = 24, colW = Math.min(56, (width - left) / pts.length);
    const chart = svg("svg", { viewBox: "0 0 " + width + " " + height, class: "chart", role: "img",
      "aria-label": "Questions per week: " + pts.map((p) => day(p.week) + " " + p.asked + " asked, " + p.unanswered +
        " unanswered").join("; ") });
    const scale = (v) => (v / max) * (height - bottom - 10);
    chart.append(svg("text", { x: 0, y: 12 }, String(max)), svg("text", { x: 0, y: height - bottom }, "0"));
    pts.forEach((p, i) => {
      const x = left + i * colW + 2, w = Math.max(2, colW - 4);
      chart.append(
        svg("rect", { x, y: height - bottom - scale(p.asked), width: w, height: scale(p.asked), fill: "#b9cdef" }),
        svg("rect", { x, y: height - bottom - scale(p.unanswered), width: w, height: scale(p.unanswered), fill: "#a3261b" }));
      if (i === 0 || i === pts.length - 1 || pts.length <= 8) {
        chart.append(svg("text", { x, y: height - 6 }, day(p.week).slice(5)));
      }
    });
    return el("figure", {},
      el("figcaption", {}, "Asked per week ", el("span", { className: "meta", text: "(light: asked, dark: unanswered)" })),
      chart);
  }
})();
