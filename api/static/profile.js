/* The profile page: GET /people/{name} drawn as strongest topics with their evidence; GET /people without a name. */
"use strict";

(() => {
  const { api, onReady, el } = WK;
  const $ = (id) => document.getElementById(id);
  const out = $("profile");
  const errorBox = $("profile-error");
  const params = new URLSearchParams(window.location.search);
  $("person").value = params.get("name") || "";

  onReady(load);
  $("profile-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $("person").value.trim();
    window.history.replaceState(null, "", name ? "?name=" + encodeURIComponent(name) : window.location.pathname);
    load();
  });

  async function load() {
    errorBox.textContent = "";
    out.setAttribute("aria-busy", "true");
    const name = $("person").value.trim();
    try {
      if (name) {
        const p = await api("/people/" + encodeURIComponent(name));
        $("profile-name").textContent = "What " + p.name + " knows";
        out.replaceChildren(...renderProfile(p));
      } else {
        $("profile-name").textContent = "Who knows what";
        out.replaceChildren(renderList(await api("/people")));
      }
      out.hidden = false;
    } catch (err) {
      out.replaceChildren();
      errorBox.textContent = err.message;
    } finally {
      out.setAttribute("aria-busy", "false");
    }
  }

  const link = (name) => el("a", { href: "/profile?name=" + encodeURIComponent(name), text: name });

  function renderList(people) {
    return el("ul", { className: "cards" }, people.map((p) => el("li", { className: "card person" },
      el("h2", {}, link(p.name), p.active === false ? " " : null,
        p.active === false ? el("span", { className: "badge", text: "has left" }) : null),
      el("p", { className: "meta", text: [p.team, p.pages + " pages", p.answers + " threads answered"]
        .filter(Boolean).join(" · ") }),
      p.topics.length ? el("p", { className: "why", text: "Strongest on: " + p.topics.join("; ") }) : null)));
  }

  function evidenceItem(e) {
    return el("li", {}, e.why, el("span", { className: "meta", text: " (" + e.kind + ", " +
      (e.date ? e.date.slice(0, 10) : "undated") + (e.quoted ? ", quoted " + e.quoted + "×" : "") + ")" }));
  }

  function renderProfile(p) {
    const facts = [p.team || "no team", p.active === false ? "has left" : null,
      "last active " + (p.last_active || "unknown"), "quoted in " + p.cited + " answers",
      "suggested in " + p.suggested].filter(Boolean).join(" · ");
    return [
      el("p", { className: "meta", id: "profile-facts", text: facts }),
      el("section", { className: "panel", "aria-labelledby": "profile-topics" },
        el("h2", { id: "profile-topics", text: "Strongest on" }),
        p.strongest.length ? el("ol", { id: "topics" }, p.strongest.map((t) => el("li", { className: "topic" },
          el("strong", { text: t.label }),
          el("ul", {}, t.evidence.slice(0, 3).map(evidenceItem))))) :
          el("p", { className: "meta", text: "Nothing you may read is credited to " + p.name + "." })),
      el("section", { className: "panel", "aria-labelledby": "profile-evidence" },
        el("h2", { id: "profile-evidence", text: "Evidence" }),
        el("ul", {}, p.evidence.map(evidenceItem))),
    ];
  }
})();
