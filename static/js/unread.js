// Unread counts, and everywhere they show: the list's badges (with their aria-labels), the
// tab title "(3) Aki · Kehai", the favicon, and on phones the back button of a chat (the
// list is hidden there). One map, conversation id -> count, is the truth: the server sends
// every conversation's count with the list (conversations/_list.html, listed or not), a new
// message from someone else adds one unless it is being read here (open in a visible tab
// and not left below the screen), and a read in any tab of
// this browser (receipts/_own.html, relayed to every tab) sets that conversation to zero.
(() => {
  "use strict";
  const K = window.Kehai;
  if (!K.me()) return;
  const texts = document.getElementById("unread-texts")?.dataset || {};
  const fill = (text, n) => (text || "{n}").replace("{n}", String(n));
  let counts = {};

  // The newest list the server rendered wins: adopt each map once, the last one in the page.
  function adopt() {
    const fresh = [...document.querySelectorAll("template[data-unread-counts]:not([data-adopted])")];
    if (!fresh.length) return false;
    fresh.forEach((t) => { t.dataset.adopted = "1"; });
    try { counts = JSON.parse(fresh.pop().dataset.unreadCounts) || {}; } catch { counts = {}; }
    return true;
  }

  // -- where the counts show ---------------------------------------------------------------
  const favicon = document.getElementById("favicon");
  const plainIcon = favicon?.getAttribute("href") || "";
  // The count drawn onto the page's own SVG icon, as a data: URL (CSP img-src allows data:).
  function iconWith(n) {
    const comma = plainIcon.indexOf(",");
    if (!n || comma < 0) return plainIcon;
    const label = n > 99 ? "99+" : String(n);
    const badge = `<circle cx="23" cy="9" r="9" fill="#dc2626" stroke="#fff" stroke-width="1.5"/>`
      + `<text x="23" y="13" font-size="${label.length > 1 ? 9 : 12}" font-weight="700" text-anchor="middle"`
      + ` font-family="sans-serif" fill="#fff">${label}</text>`;
    const svg = decodeURIComponent(plainIcon.slice(comma + 1)).replace("</svg>", badge + "</svg>");
    return plainIcon.slice(0, comma + 1) + encodeURIComponent(svg);
  }
  const titleBase = () => document.title.replace(/^\(\d+\+?\) /, "");
  function render() {
    const open = K.conversation();
    let total = 0, elsewhere = 0;
    for (const [id, n] of Object.entries(counts)) {
      total += n;
      if (id !== open) elsewhere += n;
    }
    const title = total ? `(${total}) ${titleBase()}` : titleBase();
    if (document.title !== title) document.title = title;
    const icon = iconWith(total);
    if (favicon && favicon.getAttribute("href") !== icon) favicon.setAttribute("href", icon);
    document.querySelectorAll("[data-unread-of]").forEach((badge) => {
      const n = counts[badge.dataset.unreadOf] || 0;
      if (badge.textContent !== String(n)) badge.textContent = String(n);
      badge.hidden = !n;
      badge.setAttribute("aria-label", fill(texts.badge, n));
      const item = badge.closest("[data-unread]");
      if (item) item.dataset.unread = String(n);
    });
    const back = document.querySelector("[data-unread-elsewhere]");
    if (back) {
      back.textContent = elsewhere > 99 ? "99+" : String(elsewhere);
      back.hidden = !elsewhere;
      // The link's name is its hidden text (a label would hide the badge's visible number).
      const name = back.parentElement.querySelector("[data-back-text]");
      if (name) name.textContent = elsewhere ? fill(texts.elsewhere, elsewhere) : name.dataset.backText;
    }
  }
  // Someone else setting the title (a rename) keeps the count in front.
  const titleEl = document.querySelector("title");
  if (titleEl) new MutationObserver(() => { if (!/^\(\d+\+?\) /.test(document.title)) render(); })
    .observe(titleEl, { childList: true, characterData: true, subtree: true });

  // -- what changes them -------------------------------------------------------------------
  const parse = (html) => { const t = document.createElement("template"); t.innerHTML = html; return t.content; };
  document.addEventListener("kehai:stream:message", (e) => {
    const data = e.detail.data || "";
    const kind = K.kindOf(data);
    if (kind !== "new-message" && kind !== "message-read") return;
    const root = parse(data).querySelector("[data-event]");
    const conv = root?.dataset.conversationId;
    if (!conv) return;
    if (kind === "message-read") {
      if (root.hasAttribute("data-own-read")) { counts[conv] = 0; render(); }
      return;
    }
    const item = document.getElementById(`conv-${conv}`);
    if (item) item.parentElement.prepend(item);
    const reading = conv === K.conversation() && document.visibilityState === "visible";
    if (root.dataset.author !== K.me() && !reading) counts[conv] = (counts[conv] || 0) + 1;
    render();
    // Not on this page of the list: fetch it again (it brings fresh counts too).
    if (!item) document.body.dispatchEvent(new CustomEvent("kehai:refresh-list", { bubbles: true }));
  });
  // The open chat's new message stayed below the screen (js/reading.js): not read yet. Its
  // read, once it is scrolled to, sets the count to zero again (the own-read event above).
  document.addEventListener("kehai:unseen-below", (e) => {
    const conv = e.detail?.conversation;
    if (!conv) return;
    counts[conv] = (counts[conv] || 0) + 1;
    render();
  });
  // A re-fetched list (resync, refresh, "older conversations") brings the server's counts.
  const list = document.getElementById("conversation-list");
  if (list) new MutationObserver(() => { if (adopt()) render(); }).observe(list, { childList: true });
  // The chat header is re-fetched after a gap (js/groups.js): its back button counts again.
  const main = document.getElementById("main");
  if (main) new MutationObserver(render).observe(main, { childList: true });

  // A page whose list came without the map: its badges are the best we know.
  if (!adopt()) document.querySelectorAll("[data-unread-of]").forEach((b) => {
    const n = Number(b.textContent) || 0;
    if (n) counts[b.dataset.unreadOf] = n;
  });
  render();
})();
