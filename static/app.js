// Kehai: the few behaviours htmx lacks. No inline scripts, no eval (CSP script-src 'self').
(() => {
  "use strict";
  const me = () => document.body.dataset.me || "";
  const token = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
  const newClientId = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2));
  const openConversation = () => document.querySelector("#messages")?.dataset.messagesOf || null;

  // Every htmx request carries the page's CSRF token.
  document.addEventListener("htmx:config:request", (e) => { e.detail.ctx.request.headers["X-CSRF-Token"] = token(); });

  // Times: show the reader's own clock; keep the ISO value in datetime.
  const localTime = (root) => root.querySelectorAll("time[datetime]").forEach((t) => {
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
  document.addEventListener("htmx:after:swap", () => { localTime(document); markMine(document); if (window.__kehaiStick) toBottom(); });

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
      const n = Number(item.dataset.unread || 0) + 1;
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

  const init = () => {
    const form = composer();
    if (form) form.elements.client_id.value = newClientId();
    localTime(document); markMine(document); toBottom();
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
