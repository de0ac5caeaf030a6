// Presence: each tab reports for itself whether it is in use (visible and used lately), away
// (hidden, or idle for a while) or gone (closed). The tabs share one stream, so the server
// counts the session online while any of its tabs is in use, away once none is.
(() => {
  "use strict";
  const K = window.Kehai;
  if (!K.me()) return;
  const awayAfter = 1000 * Number(K.meta("kehai-away-after") || 300);
  let state = document.visibilityState === "visible" ? "active" : "away", idleTimer = 0;
  // `n` orders one tab's reports: the "gone" of a page being reloaded may reach the server
  // after the "active" of the page that replaced it, and must then be ignored.
  // Signed out (here, or in another tab: the session is gone): a report now would only be
  // refused, and the page is about to become the sign-in page.
  let ended = false;
  document.addEventListener("kehai:signed-out", () => { ended = true; });
  document.addEventListener("submit", (e) => { if (e.target.matches("form.logout")) ended = true; });
  const send = (next, force = false) => {
    if (ended || (next === state && !force)) return;
    state = next;
    K.post("/presence", { state: next, tab: K.tab, n: String(K.tick()) }, { keepalive: true }).catch(() => {});
  };
  const visible = () => document.visibilityState === "visible";
  const used = () => {
    clearTimeout(idleTimer);
    if (visible()) { send("active"); idleTimer = setTimeout(() => send("away"), awayAfter); }
  };
  ["keydown", "pointerdown", "pointermove", "wheel", "focus"].forEach((t) => window.addEventListener(t, used, { passive: true }));
  // A page being left (reload, link, close) turns hidden after `pagehide`: that is no "away".
  let leaving = false;
  window.addEventListener("pagehide", () => { leaving = true; send("gone", true); });
  window.addEventListener("pageshow", () => { leaving = false; });
  document.addEventListener("visibilitychange", () => (visible() ? used() : leaving || send("away")));
  idleTimer = setTimeout(() => send("away"), awayAfter);
  // Whenever the shared stream (re)connects, each tab says where it stands: a new stream
  // starts knowing none of its tabs (the leader may have changed, or the server restarted).
  document.addEventListener("kehai:stream:live", () => {
    if (!leaving) setTimeout(() => send(state, true), Math.random() * 300);
  });
})();
