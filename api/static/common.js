/* whoknows: the API key (sessionStorage) and a fetch wrapper shared by the pages. No build step. */
"use strict";

const WK = (() => {
  const STORE = "whoknows.apiKey";
  const authOn = document.body.dataset.auth === "on";
  const keyForm = document.getElementById("key-form");
  const keyInput = document.getElementById("api-key");
  const keyError = document.getElementById("key-error");
  const signOut = document.getElementById("sign-out");
  const readyCallbacks = [];

  class ApiError extends Error {
    constructor(message, status, body) {
      super(message);
      this.status = status;
      this.body = body;
    }
  }

  function key() {
    return sessionStorage.getItem(STORE) || "";
  }

  function needsKey() {
    return authOn && !key();
  }

  function setLocked(locked) {
    keyForm.hidden = !locked;
    document.querySelectorAll("[data-needs-key]").forEach((el) => { el.hidden = locked; });
    // Results shown under the previous key disappear with it; the next answer shows them again.
    if (locked) document.querySelectorAll("[data-private]").forEach((el) => { el.hidden = true; });
    signOut.hidden = !authOn || locked;
  }

  function askForKey(message) {
    sessionStorage.removeItem(STORE);
    keyError.textContent = message || "";
    setLocked(true);
    keyInput.focus();
  }

  keyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = keyInput.value.trim();
    if (!value) {
      keyError.textContent = "Paste the key you were given.";
      return;
    }
    sessionStorage.setItem(STORE, value);
    keyInput.value = "";
    keyError.textContent = "";
    setLocked(false);
    readyCallbacks.forEach((fn) => fn());
  });

  signOut.addEventListener("click", () => askForKey("Key forgotten. Paste a key to continue."));

  /** Call ``fn`` once the page may call the API (now, or after the key is entered). */
  function onReady(fn) {
    readyCallbacks.push(fn);
    if (!needsKey()) fn();
  }

  /** fetch() returning parsed JSON; errors become ApiError with the server's message. */
  async function api(path, options = {}) {
    const headers = Object.assign({ Accept: "application/json" }, options.headers || {});
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      options = Object.assign({}, options, { method: options.method || "POST", body: JSON.stringify(options.json) });
    }
    if (key()) headers.Authorization = "Bearer " + key();
    let response;
    try {
      response = await fetch(path, Object.assign({}, options, { headers }));
    } catch (err) {
      throw new ApiError("The server cannot be reached. Is it still running?", 0, null);
    }
    let body = null;
    try {
      body = await response.json();
    } catch (err) {
      body = null;
    }
    if (response.status === 401 && authOn) {
      askForKey((body && body.error) || "That key was not accepted.");
    }
    if (!response.ok) {
      const retry = response.headers.get("Retry-After");
      let message = (body && body.error) || "The server answered " + response.status + ".";
      if (response.status === 429 && retry) message = "Too many requests - try again in " + retry + " s.";
      throw new ApiError(message, response.status, body);
    }
    return body;
  }

  /** An element with text content (never HTML: answers and sources are untrusted text). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([name, value]) => {
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = value;
      else if (name === "className") node.className = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    });
    children.flat().forEach((child) => {
      if (child === null || child === undefined) return;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    });
    return node;
  }

  /** Only http(s) links are rendered as links. */
  function safeUrl(url) {
    try {
      const parsed = new URL(url, window.location.href);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
    } catch (err) {
      return null;
    }
  }

  /** The little Markdown that answers quote (**bold**, `code`, [label](link)) as DOM nodes, never HTML. */
  function inline(text) {
    const nodes = [];
    const re = /\*\*([^*\n]+)\*\*|`([^`\n]+)`|\[([^\]\n]+)\]\(([^)\s]+)\)/g;
    let last = 0;
    let m;
    while ((m = re.exec(text)) !== null) {
      if (m.index > last) nodes.push(document.createTextNode(text.slice(last, m.index)));
      if (m[1] !== undefined) nodes.push(el("strong", { text: m[1] }));
      else if (m[2] !== undefined) nodes.push(el("code", { text: m[2] }));
      else {
        const href = /^https?:\/\//i.test(m[4]) ? safeUrl(m[4]) : null;
        nodes.push(href ? el("a", { href, rel: "noopener noreferrer", target: "_blank", text: m[3] })
                        : document.createTextNode(m[3]));
      }
      last = re.lastIndex;
    }
    if (last < text.length) nodes.push(document.createTextNode(text.slice(last)));
    return nodes;
  }

  setLocked(needsKey());
  return { api, onReady, el, inline, safeUrl, ApiError, askForKey };
})();
