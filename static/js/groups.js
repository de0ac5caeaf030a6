// Group changes a swap alone cannot show. A room that joined this person's list comes with
// the list itself (re-fetched: each viewer's own order, unread counts and partner); a renamed
// room's open page also renames its tab and its composer's placeholder (a person renamed:
// that of the direct chat with them); after a resync (a gap the stream cannot fill) the
// chat header is fetched again, and a room left meanwhile says so instead of going dead.
(() => {
  "use strict";
  const retitle = () => {
    const h1 = document.querySelector("main[data-conversation-id] .chat-header h1");
    if (h1 && h1.textContent.trim()) document.title = `${h1.textContent.trim()} · Kehai`;
  };
  // The event's own placeholder text is in this page's language (rendered by the server);
  // only the composer it names takes it. Setting an attribute leaves a draft untouched.
  const replaceholder = (kind, data) => {
    const root = new DOMParser().parseFromString(data, "text/html").querySelector("[data-event]");
    const text = root?.dataset.placeholder;
    if (!text) return;
    const box = kind === "room-changed"
      ? document.querySelector(`main[data-conversation-id="${CSS.escape(root.dataset.conversationId || "")}"] textarea#body`)
      : document.querySelector(`textarea#body[data-partner="${CSS.escape(root.dataset.user || "")}"]`);
    if (box) box.placeholder = text;
  };
  document.addEventListener("kehai:stream:message", (e) => {
    const kind = window.Kehai.kindOf(e.detail?.data);
    if (kind === "room-joined") {
      document.body.dispatchEvent(new CustomEvent("kehai:refresh-list", { bubbles: true }));
    } else if (kind === "room-changed" || kind === "name-changed") {
      retitle();
      replaceholder(kind, e.detail.data);
    }
  });

  const gone = (main) => {
    const notice = document.getElementById("room-gone");
    if (notice) main.replaceChildren(notice.content.cloneNode(true));
  };
  document.body.addEventListener("kehai:resync", async () => {
    const main = document.querySelector("main[data-header-url]");
    const header = main?.querySelector(".chat-header");
    if (!header) return;
    try {
      const res = await fetch(main.dataset.headerUrl, { credentials: "same-origin", headers: { "HX-Request": "true" } });
      if (res.status === 404) { gone(main); return; }  // removed, or left in another browser
      if (!res.ok) return;  // the server is struggling: the next resync tries again
      await htmx.swap({ target: header, swap: "outerHTML", text: await res.text() });
      retitle();
    } catch (error) {
      console.warn("kehai: the chat header could not be refreshed:", error);
    }
  });
})();
