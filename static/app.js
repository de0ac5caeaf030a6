// Kehai: the few behaviours htmx lacks. No inline scripts, no eval (CSP script-src 'self').
(() => {
  "use strict";
  const me = () => document.body.dataset.me || "";
  const token = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
  const newClientId = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2));
  const openConversation = () => document.querySelector("#messages")?.dataset.messagesOf || null;

  // One id per browser tab (kept across reloads), so presence knows which tab is in use.
  const tab = sessionStorage.getItem("kehai-tab") || newClientId();
  sessionStorage.setItem("kehai-tab", tab);
  const stream = document.getElementById("stream");
  if (stream) stream.setAttribute("hx-sse:connect", stream.getAttribute("hx-sse:connect") + "&tab=" + encodeURIComponent(tab));

  // Every htmx request carries the page's CSRF token and its tab.
  document.addEventListener("htmx:config:request", (e) => {
    e.detail.ctx.request.headers["X-CSRF-Token"] = token();
    e.detail.ctx.request.headers["X-Kehai-Tab"] = tab;
  });

  // Presence: away when the tab is hidden or unused for a while, online again on use.
  const awayAfter = 1000 * Number(document.querySelector('meta[name="kehai-away-after"]')?.content || 300);
  let state = "active", idleTimer = 0;
  const report = (next) => {
    if (next === state || !me()) return;
    state = next;
    const body = new FormData(); body.set("state", next); body.set("tab", tab);
    fetch("/presence", { method: "POST", body, keepalive: true, credentials: "same-origin", headers: { "X-CSRF-Token": token() } }).catch(() => {});
  };
  const used = () => {
    clearTimeout(idleTimer);
    if (document.visibilityState === "visible") { report("active"); idleTimer = setTimeout(() => report("away"), awayAfter); }
  };
  ["keydown", "pointerdown", "pointermove", "wheel", "focus"].forEach((t) => window.addEventListener(t, used, { passive: true }));
  // A page being left (reload, link, close) turns hidden after `pagehide`: that is no "away",
  // and reporting it would race the next page's stream (same tab id) and mark that one away.
  let leaving = false;
  window.addEventListener("pagehide", () => { leaving = true; });
  window.addEventListener("pageshow", () => { leaving = false; });
  document.addEventListener("visibilitychange", () => (document.visibilityState === "visible" ? used() : leaving || report("away")));
  idleTimer = setTimeout(() => report("away"), awayAfter);

  // "Last seen 5 minutes ago" stays current without a request.
  const relative = () => document.querySelectorAll("time[data-relative]").forEach((t) => {
    const secs = (new Date(t.getAttribute("datetime")) - Date.now()) / 1000;
    if (isNaN(secs)) return;
    const rtf = new Intl.RelativeTimeFormat(document.documentElement.lang || undefined, { numeric: "auto" });
    const [n, unit] = Math.abs(secs) < 60 ? [secs, "second"] : Math.abs(secs) < 3600 ? [secs / 60, "minute"]
      : Math.abs(secs) < 86400 ? [secs / 3600, "hour"] : [secs / 86400, "day"];
    t.textContent = rtf.format(Math.round(n), unit);
  });
  setInterval(relative, 30000);

  // Times: show the reader's own clock; keep the ISO value in datetime.
  const localTime = (root) => root.querySelectorAll("time[datetime]:not([data-relative])").forEach((t) => {
    const d = new Date(t.getAttribute("datetime"));
    if (isNaN(d)) return;
    const opts = t.dataset.format === "time" ? { hour: "2-digit", minute: "2-digit" }
      : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };
    t.textContent = d.toLocaleString(document.documentElement.lang || undefined, opts);
    t.title = d.toLocaleString();
  });
  const markMine = (root) => root.querySelectorAll(`.message[data-author="${CSS.escape(me())}"]`).forEach((m) => m.classList.add("mine"));
  const nearBottom = (box) => box.scrollHeight - box.scrollTop - box.clientHeight < 120;
  const toBottom = () => { const box = document.querySelector("#messages"); if (box) box.scrollTop = box.scrollHeight; };

  document.addEventListener("htmx:before:swap", () => { const box = document.querySelector("#messages"); window.__kehaiStick = box ? nearBottom(box) : false; });
  document.addEventListener("htmx:after:swap", () => { localTime(document); markMine(document); relative(); if (window.__kehaiStick) toBottom(); });

  // The stream: a resync re-fetches the page's regions; a new message reorders the sidebar.
  document.addEventListener("htmx:sse:after:message", (e) => {
    const data = e.detail.message?.data || "";
    const kind = (data.match(/data-event="([a-z-]+)"/) || [])[1];
    if (kind === "resync") document.body.dispatchEvent(new CustomEvent("kehai:resync", { bubbles: true }));
    if (kind !== "new-message") return;
    const conv = (data.match(/data-conversation-id="(\d+)"/) || [])[1];
    const author = (data.match(/data-author="([^"]+)"/) || [])[1];
    const item = document.getElementById(`conv-${conv}`);
    if (!item) { document.body.dispatchEvent(new CustomEvent("kehai:refresh-list", { bubbles: true })); return; }
    item.parentElement.prepend(item);
    const reading = conv === openConversation() && document.visibilityState === "visible";
    if (author !== me() && !reading) {
      const badge = item.querySelector("[data-unread-of]");
      const n = Number((badge && !badge.hidden && badge.textContent) || 0) + 1;
      item.dataset.unread = String(n);
      if (badge) { badge.textContent = String(n); badge.hidden = false; }
    }
  });

  // The composer: Enter sends, Shift+Enter breaks the line, IME composition is left alone.
  const composer = () => document.querySelector("#composer");
  document.addEventListener("keydown", (e) => {
    const form = composer();
    if (!form || e.target !== form.elements.body || e.key !== "Enter" || e.shiftKey || e.isComposing || e.keyCode === 229) return;
    e.preventDefault();
    if (form.elements.body.value.trim()) form.requestSubmit();
  });
  document.addEventListener("input", (e) => {
    const box = composer()?.elements.body;
    if (e.target !== box) return;
    box.style.height = "auto";
    box.style.height = Math.min(box.scrollHeight, 200) + "px";
  });
  document.addEventListener("htmx:after:request", (e) => {
    const form = composer();
    if (!form || e.target !== form) return;
    const status = e.detail.ctx?.response?.status || 0;
    if (status >= 200 && status < 300) {  // only a stored message clears the box: nothing typed is lost
      form.elements.body.value = "";
      form.elements.body.style.height = "auto";
      form.elements.client_id.value = newClientId();
      toBottom();
    }
    form.elements.body.focus();
  });

  // Read receipts: a message is read once it has been on screen in a visible tab; the
  // newest such id goes out in one POST per batch, never one per message.
  const inView = new Set();
  let lastRead = 0, readTimer = 0, sending = 0;  // lastRead: acknowledged by the server
  const post = (url, fields) => {
    const body = new FormData();
    Object.entries(fields).forEach(([k, v]) => body.set(k, v));
    return fetch(url, { method: "POST", body, keepalive: true, credentials: "same-origin", headers: { "X-CSRF-Token": token(), "X-Kehai-Tab": tab } }).catch(() => {});
  };
  const flushRead = () => {
    const form = composer();
    if (!form || document.visibilityState !== "visible" || !inView.size) return;
    const newest = Math.max(...inView);
    if (newest <= Math.max(lastRead, sending)) return;
    sending = newest;
    // Only a 2xx moves lastRead: a failed POST is sent again on the next intersection or
    // visibility change.
    post(form.dataset.readUrl, { up_to: String(newest) }).then((r) => {
      if (r && r.ok) lastRead = Math.max(lastRead, newest);
      if (sending === newest) sending = 0;
    });
  };
  const seen = "IntersectionObserver" in window ? new IntersectionObserver((entries) => {
    for (const e of entries) {
      const id = Number(e.target.dataset.messageId);
      if (e.isIntersecting) inView.add(id); else inView.delete(id);
    }
    clearTimeout(readTimer);
    readTimer = setTimeout(flushRead, 200);
  }, { threshold: 0.5 }) : null;
  const observeMessages = () => document.querySelectorAll("#messages .message[data-message-id]").forEach((m) => {
    if (seen && m.dataset.author !== me() && !m.dataset.observed && Number(m.dataset.messageId) > lastRead) { m.dataset.observed = "1"; seen.observe(m); }
  });
  document.addEventListener("htmx:after:swap", observeMessages);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") flushRead(); });

  // Leaving the page with text in the box stops the typing indicator at once.
  window.addEventListener("pagehide", () => {
    const form = composer();
    if (form && form.elements.body.value.trim()) post(form.dataset.typingUrl, { state: "stop", body: "" });
  });

  const init = () => {
    const form = composer();
    if (form) { form.elements.client_id.value = newClientId(); lastRead = Number(form.dataset.lastRead || 0); }
    localTime(document); markMine(document); toBottom(); observeMessages();
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
