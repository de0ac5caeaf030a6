// Group changes a swap alone cannot show. A room that joined this person's list comes with
// the list itself (re-fetched: each viewer's own order, unread counts and partner); a renamed
// room's open page also renames its tab.
(() => {
  "use strict";
  const kindOf = (data) => (/data-event="([a-z-]+)"/.exec(data || "") || [])[1] || "";
  document.addEventListener("kehai:stream:message", (e) => {
    const kind = kindOf(e.detail?.data);
    if (kind === "room-joined") {
      document.body.dispatchEvent(new CustomEvent("kehai:refresh-list", { bubbles: true }));
    } else if (kind === "room-changed" || kind === "name-changed") {
      const h1 = document.querySelector("main[data-conversation-id] .chat-header h1");
      if (h1 && h1.textContent) document.title = `${h1.textContent.trim()} · Kehai`;
    }
  });
})();
