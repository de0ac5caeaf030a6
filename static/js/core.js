// Kehai's shared helpers for the other scripts (loaded first). No eval, no inline scripts.
(() => {
  "use strict";
  const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content || "";
  const newId = () => (crypto.randomUUID ? crypto.randomUUID()
    : String(Date.now()) + Math.random().toString(16).slice(2));

  // One id per browser tab (kept across reloads, sessionStorage), so the server can tell
  // which of a session's tabs is in use even though they share one stream.
  const tab = sessionStorage.getItem("kehai-tab") || newId();
  sessionStorage.setItem("kehai-tab", tab);

  // localStorage can be full or refused (private modes): losing a draft beats breaking the page.
  const store = {
    get(key, fallback = null) {
      try { const raw = localStorage.getItem(key); return raw === null ? fallback : JSON.parse(raw); }
      catch { return fallback; }
    },
    set(key, value) { try { localStorage.setItem(key, JSON.stringify(value)); } catch { /* full */ } },
    remove(key) { try { localStorage.removeItem(key); } catch { /* refused */ } },
  };

  // A urlencoded form (not FormData's multipart): what the server's lean message handler
  // answers without Quart (app/messages/lean.py), and smaller.
  const post = (url, fields, { keepalive = false, signal, htmx = false } = {}) => {
    const body = new URLSearchParams();
    Object.entries(fields).forEach(([k, v]) => body.set(k, v));
    const headers = { "X-CSRF-Token": meta("csrf-token"), "X-Kehai-Tab": tab };
    if (htmx) headers["HX-Request"] = "true";
    return fetch(url, { method: "POST", body, keepalive, signal, credentials: "same-origin", headers });
  };

  window.Kehai = {
    me: () => document.body.dataset.me || "",
    meta, newId, tab, store, post,
    conversation: () => document.querySelector("#messages")?.dataset.messagesOf || null,
    // Strictly increasing per browser, across reloads: orders a tab's reports and typing.
    tick() {
      const n = Math.max(Date.now(), Number(localStorage.getItem("kehai-tick") || 0) + 1);
      try { localStorage.setItem("kehai-tick", String(n)); } catch { /* refused */ }
      return n;
    },
    // What a stream message is: its root element's data-event (the wire protocol's kind).
    kindOf: (data) => (/data-event="([a-z-]+)"/.exec(data || "") || [])[1] || "",
    emit: (name, detail) => document.dispatchEvent(new CustomEvent(name, { detail })),
  };
})();
