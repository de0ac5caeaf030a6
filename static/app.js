// Kehai's page behaviours htmx lacks: local times, staying at the bottom, and read receipts.
// The stream is static/js/live.js, presence js/presence.js, the composer js/composer.js;
// unread counts js/unread.js, the reading position js/reading.js, notifications js/notify.js.
(() => {
  "use strict";
  const K = window.Kehai;
  const me = K.me;

  // Every htmx request carries the page's CSRF token and its tab.
  document.addEventListener("htmx:config:request", (e) => {
    e.detail.ctx.request.headers["X-CSRF-Token"] = K.meta("csrf-token");
    e.detail.ctx.request.headers["X-Kehai-Tab"] = K.tab;
  });

  // "Last seen 5 minutes ago" stays current without a request, redrawn when its text changes:
  // each second under a minute, on the minute under an hour, and so on. Under a minute a
  // last-seen phrase reads "Online just now" as a whole (templating.last_seen_phrase).
  const UNITS = [[60, 1, "second"], [3600, 60, "minute"], [86400, 3600, "hour"], [Infinity, 86400, "day"]];
  let relTimer = 0;
  const relative = () => {
    clearTimeout(relTimer);
    const rtf = new Intl.RelativeTimeFormat(document.documentElement.lang || undefined, { numeric: "auto" });
    let next = 3600;  // seconds until some text changes
    document.querySelectorAll("time[data-relative]").forEach((t) => {
      const age = (Date.now() - new Date(t.getAttribute("datetime"))) / 1000;
      if (isNaN(age)) return;
      const a = Math.max(0, age), [, size, unit] = UNITS.find(([limit]) => a < limit);
      const n = Math.floor(a / size);
      next = Math.min(next, (n + 1) * size - a);
      const words = rtf.format(-n, unit).replace(/(\d) (?=[^\x00-\x7f])/g, "$1");  // ja: 「3分前」, not 「3 分前」
      const text = !t.dataset.phrase ? words : a < 60 ? t.dataset.justNow : t.dataset.phrase.replace("{when}", words);
      if (t.textContent !== text) t.textContent = text;
    });
    relTimer = setTimeout(relative, Math.max(250, next * 1000 + 50));
  };
  relative();

  // Times: show the reader's own clock; keep the ISO value in datetime.
  const localTime = (root) => root.querySelectorAll("time[datetime]:not([data-relative])").forEach((t) => {
    const d = new Date(t.getAttribute("datetime"));
    if (isNaN(d)) return;
    // hour "numeric": 9:05 AM, not 09:05 AM (ja stays 9:05)
    const opts = t.dataset.format === "time" ? { hour: "numeric", minute: "2-digit" }
      : { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" };
    t.textContent = d.toLocaleString(document.documentElement.lang || undefined, opts);
    t.title = d.toLocaleString();
  });
  // One rendering serves every member: one's own messages and previews are marked here.
  const markMine = (root) => root.querySelectorAll(`:is(.message, .preview-author)[data-author="${CSS.escape(me())}"]`)
    .forEach((m) => m.classList.add("mine"));
  const nearBottom = (box) => box.scrollHeight - box.scrollTop - box.clientHeight < 120;
  const toBottom = () => { const box = document.querySelector("#messages"); if (box) box.scrollTop = box.scrollHeight; };

  // A stream message is swapped one fragment at a time: decide "stuck to the bottom" before
  // the first of a burst, and do the page-wide work once after the last.
  // "Load older" never sticks (js/reading.js keeps the reader's place), and its after:swap
  // fires on the replaced, detached button, so reading.js tells us with kehai:older-loaded.
  let stick = null;
  document.addEventListener("htmx:before:swap", (e) => {
    if (stick !== null) return;
    const box = document.querySelector("#messages");
    stick = box && !e.target.closest?.(".load-older") ? nearBottom(box) : false;
  });
  const settle = () => queueMicrotask(() => {
    if (stick === null) return;
    localTime(document); markMine(document); relative(); observeMessages();
    if (stick) toBottom();
    stick = null;
  });

  // An error flash: out of the way (app.css), gone on ✕, after FLASH_MS, or once a later
  // request succeeds; a new flash restarts the clock.
  const FLASH_MS = 6000;
  const flashBox = document.getElementById("flash");
  let flashTimer = 0;
  const clearFlash = () => { clearTimeout(flashTimer); if (flashBox && flashBox.firstChild) flashBox.replaceChildren(); };
  if (flashBox) {
    new MutationObserver(() => {
      clearTimeout(flashTimer);
      if (flashBox.firstChild) flashTimer = setTimeout(clearFlash, FLASH_MS);
    }).observe(flashBox, { childList: true });
    flashBox.addEventListener("click", (e) => { if (e.target.closest("[data-flash-close]")) clearFlash(); });
  }
  document.addEventListener("htmx:after:request", (e) => {
    const status = e.detail?.ctx?.response?.status;
    if (status && status < 400) clearFlash();
  });
  document.addEventListener("htmx:after:swap", settle);
  document.addEventListener("kehai:older-loaded", settle);

  // A resync re-fetches the history while the stream goes on: an answer asked for before a
  // message arrived live would wipe that message. Whatever is newer than the answer stays,
  // after it, in order.
  let arrived = null;
  const shown = (box) => [...box.querySelectorAll(":scope > [data-message-id]")];
  document.addEventListener("htmx:before:swap", (e) => {
    if (e.target?.id === "messages") arrived = shown(e.target);
  });
  document.addEventListener("htmx:after:swap", (e) => {
    if (e.target?.id !== "messages" || !arrived) return;
    const box = e.target, before = arrived;
    arrived = null;
    const newest = Math.max(0, ...shown(box).map((m) => Number(m.dataset.messageId)));
    for (const m of before) {
      if (Number(m.dataset.messageId) > newest && !document.getElementById(m.id)) box.append(m);
    }
  });

  // Read receipts: a message is read once it has been on screen in a visible tab; the
  // newest such id goes out in one POST per batch, never one per message.
  const inView = new Set();
  let lastRead = 0, readTimer = 0, sending = 0;  // lastRead: acknowledged by the server
  const composer = () => document.querySelector("#composer");
  const post = (url, fields) => K.post(url, fields, { keepalive: true }).catch(() => {});
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
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") flushRead(); });

  const init = () => {
    const form = composer();
    if (form) lastRead = Number(form.dataset.lastRead || 0);
    localTime(document); markMine(document); toBottom(); observeMessages();
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
