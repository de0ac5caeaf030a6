// Browser notifications, opt-in: off until the person turns them on in the list (permission is
// asked on that click only, never on load). Then a message from someone else in a conversation
// not on screen — another one, or this one in a hidden tab — shows a notification with the
// author's name and the start of the text; a click brings the tab forward on that conversation.
// One per message per browser: all tabs get every message (js/live.js), but only the tab that
// reads the stream (the leader) notifies, and first asks the other tabs whether one of them
// has that conversation on screen. One notification per conversation: the next message
// replaces it with the latest lines stacked ("3 earlier" before them), so a burst reads as a
// conversation, not as its last line alone; reading that conversation anywhere (any tab or
// device: the own-read event) closes it and the next one starts afresh.
(() => {
  "use strict";
  const K = window.Kehai;
  const me = K.me();
  if (!me || !("Notification" in window)) return;
  const KEY = "kehai-notify";  // "on": this browser wants notifications (shared by its tabs)
  const ASK_MS = 300;  // how long the leader waits for a tab that has the conversation on screen
  const PREVIEW = 120;
  const STACKED = 4;  // lines a notification shows; older ones are counted, not shown
  const wanted = () => K.store.get(KEY) === "on" && Notification.permission === "granted";

  // -- the switch in the list ----------------------------------------------------------------
  const row = document.querySelector("[data-notify]");
  const toggle = row?.querySelector("[data-notify-toggle]");
  function showSwitch() {
    if (!toggle) return;
    row.hidden = false;
    const blocked = Notification.permission === "denied";
    toggle.disabled = blocked;
    toggle.textContent = blocked ? toggle.dataset.blocked : wanted() ? toggle.dataset.off : toggle.dataset.on;
  }
  toggle?.addEventListener("click", async () => {
    if (wanted()) K.store.set(KEY, "off");
    else if ((await Notification.requestPermission()) === "granted") K.store.set(KEY, "on");
    showSwitch();
  });
  window.addEventListener("storage", (e) => { if (e.key === KEY) showSwitch(); });
  showSwitch();

  // -- is the conversation on screen in some tab of this browser? ----------------------------
  const onScreen = (conv) => document.visibilityState === "visible" && K.conversation() === conv;
  const tabs = new BroadcastChannel("kehai-notify:" + me);
  const asked = new Map();  // question id -> resolve
  tabs.onmessage = ({ data: m }) => {
    if (m.t === "showing?" && onScreen(m.conv)) tabs.postMessage({ t: "showing", q: m.q });
    else if (m.t === "showing") asked.get(m.q)?.(true);
  };
  function shownElsewhere(conv) {
    const q = K.newId();
    return new Promise((resolve) => {
      asked.set(q, resolve);
      tabs.postMessage({ t: "showing?", conv, q });
      setTimeout(resolve, ASK_MS, false);
    }).finally(() => asked.delete(q));
  }

  // -- a new message -------------------------------------------------------------------------
  const leading = () => document.getElementById("stream")?.dataset.role === "leader";
  const parse = (html) => { const t = document.createElement("template"); t.innerHTML = html; return t.content; };
  const clip = (text) => (text.length > PREVIEW ? text.slice(0, PREVIEW - 1) + "…" : text);
  const stacks = new Map();  // conversation id -> { lines, count, note }: what is showing
  const done = (conv) => { stacks.get(conv)?.note.close(); stacks.delete(conv); };
  document.addEventListener("kehai:stream:message", async (e) => {
    const data = e.detail.data || "";
    const kind = K.kindOf(data);
    if (kind !== "new-message" && kind !== "message-read") return;
    // The fragment is inert in a template; only its text is read, never its markup.
    const root = parse(data).querySelector("[data-event]");
    const conv = root?.dataset.conversationId;
    if (!conv) return;
    if (kind === "message-read") {
      if (root.hasAttribute("data-own-read")) done(conv);
      return;
    }
    if (!leading() || !wanted() || root.dataset.author === me || onScreen(conv)) return;
    if (await shownElsewhere(conv)) return;
    const author = root.querySelector(".message-author")?.textContent.trim() || root.dataset.author;
    const body = clip(root.querySelector(".message-body")?.textContent.trim() || "");
    const item = document.getElementById(`conv-${conv}`);
    const room = item?.querySelector(".conv-title")?.textContent.trim();
    const group = Boolean(room && room !== author);
    const stack = stacks.get(conv) || { lines: [], count: 0, note: null };
    stack.count += 1;
    stack.lines = [...stack.lines, group ? `${author}: ${body}` : body].slice(-STACKED);
    const earlier = stack.count - stack.lines.length;
    const texts = [...(earlier ? [(toggle?.dataset.earlier || "{n}").replace("{n}", String(earlier))] : []), ...stack.lines];
    // Same tag: the browser swaps it in place of the one showing; renotify: it still alerts.
    const note = new Notification(group ? room : author, {
      body: texts.join("\n"), tag: `kehai-c${conv}`, renotify: true, data: { conversation: conv },
    });
    stack.note = note;
    stacks.set(conv, stack);
    const url = item?.querySelector("a")?.getAttribute("href") || `/c/${encodeURIComponent(conv)}`;
    note.onclick = () => {
      window.focus();
      done(conv);
      if (K.conversation() !== conv) location.assign(url);
    };
    note.onclose = () => { if (stacks.get(conv)?.note === note) stacks.delete(conv); };
  });
})();
