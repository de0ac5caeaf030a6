// The reader's place in a conversation: the "new messages" line at the first message unread
// when the page opened (data-unread-from, from the server), the jump up to it, "↓ N new" when
// messages arrive while the reader is scrolled up, and "load older" keeping the message that
// was at the top where it was. The line belongs to the page, not to the history's HTML: it is
// drawn again after a resync re-fetch or when "load older" brings its message.
(() => {
  "use strict";
  const K = window.Kehai;
  const box = document.getElementById("messages");
  if (!box || !K.me()) return;
  const first = box.dataset.unreadFrom || "";
  const total = Number(box.dataset.unreadCount || 0);
  const jump = document.querySelector("[data-unread-jump]");
  const pill = document.querySelector("[data-new-below]");
  const fill = (text, n) => (text || "{n}").replace("{n}", String(n));
  const NEAR = 120;  // px: "at the bottom" as app.js's stick-to-bottom counts it
  const atBottom = () => box.scrollHeight - box.scrollTop - box.clientHeight < NEAR;
  const smooth = () => (matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth");
  const top = (el) => el.getBoundingClientRect().top - box.getBoundingClientRect().top;

  // -- the line ----------------------------------------------------------------------------
  const divider = () => box.querySelector(".unread-divider");
  function drawLine() {
    if (!first || divider()) return divider();
    const at = document.getElementById(`message-${first}`);
    const tpl = document.getElementById("unread-divider");
    if (!at || !tpl || at.parentElement !== box) return null;
    at.before(tpl.content.cloneNode(true));
    return divider();
  }

  // -- the jump up to it: while the line is above the screen (or not loaded yet) -----------
  let seen = !first;  // once the line has been on screen, the jump has done its work
  function updateJump() {
    if (!jump) return;
    const line = divider();
    if (line && top(line) + line.offsetHeight > 0 && top(line) < box.clientHeight) seen = true;
    jump.hidden = seen || (line && top(line) >= 0);
    jump.querySelector(".jump-text").textContent = total === 1 ? jump.dataset.textOne : fill(jump.dataset.text, total);
  }
  const older = () => box.querySelector(".load-older");
  async function jumpToLine() {
    // The first unread may be pages back: load older pages until the line is drawn.
    for (let pages = 0; !divider() && older() && pages < 20; pages += 1) {
      const loaded = new Promise((r) => document.addEventListener("kehai:older-loaded", r, { once: true }));
      older().click();
      if (!await Promise.race([loaded.then(() => true), new Promise((r) => setTimeout(r, 10000, false))])) break;
    }
    const line = divider();
    if (line) box.scrollTo({ top: box.scrollTop + top(line) - 8, behavior: smooth() });
    seen = true;
    updateJump();
  }
  jump?.addEventListener("click", jumpToLine);

  // -- "↓ N new": messages that arrived below while the reader is scrolled up --------------
  let below = 0;
  function updatePill() {
    if (!pill) return;
    if (atBottom()) below = 0;
    pill.hidden = !below;
    pill.querySelector(".new-below-text").textContent = fill(pill.dataset.text, below);
  }
  pill?.addEventListener("click", () => {
    below = 0;
    updatePill();
    box.scrollTo({ top: box.scrollHeight, behavior: smooth() });
  });
  document.addEventListener("kehai:stream:message", (e) => {
    const data = e.detail.data || "";
    if (K.kindOf(data) !== "new-message") return;
    const conv = (/data-conversation-id="(\d+)"/.exec(data) || [])[1];
    const author = (/data-author="([^"]+)"/.exec(data) || [])[1];
    if (conv !== K.conversation() || author === K.me()) return;
    // A visible tab's open chat is being read: js/unread.js counts nothing on arrival. One
    // that stays below the screen is unread all the same, until it is scrolled to.
    const visible = document.visibilityState === "visible";
    // After app.js had its chance to keep the view at the bottom.
    requestAnimationFrame(() => {
      if (atBottom()) return;
      below += 1;
      updatePill();
      if (visible) K.emit("kehai:unseen-below", { conversation: conv });
    });
  });
  let ticking = false;
  box.addEventListener("scroll", () => {
    if (ticking) return;
    ticking = true;
    requestAnimationFrame(() => { ticking = false; updatePill(); updateJump(); });
  }, { passive: true });

  // -- "load older" keeps the reader's place -----------------------------------------------
  // The button is swapped (outerHTML) for the older page: note the message below it and
  // where it sat, and once the button has left, scroll by what was added above.
  let anchor = null;
  document.addEventListener("htmx:before:swap", (e) => {
    const button = e.target.closest?.(".load-older");
    if (!button || !box.contains(button)) return;
    // A message, not whatever follows the button (a day separator moves when older days arrive).
    let message = button.nextElementSibling;
    while (message && !message.matches("[data-message-id]")) message = message.nextElementSibling;
    anchor = { button, message, at: message ? top(message) : 0 };
  });
  new MutationObserver(() => {
    if (anchor && !anchor.button.isConnected) {
      const { message, at } = anchor;
      anchor = null;
      if (message?.isConnected) box.scrollTop += top(message) - at;
      drawLine();
      K.emit("kehai:older-loaded");
      updateJump();
    } else if (first && !divider()) {
      drawLine();  // a resync re-fetched the history
    }
  }).observe(box, { childList: true });

  // -- opening: with many unread, at the line (like Slack), else at the bottom -------------
  const wasAtBottom = atBottom();
  const line = drawLine();
  if (line && top(line) < 0) box.scrollTop += top(line) - 8;
  else if (first && !line) box.scrollTop = 0;  // the first unread is pages back: start at the oldest shown
  else if (wasAtBottom) box.scrollTop = box.scrollHeight;  // the line made the history taller
  updateJump();
})();
