// Replies: "Reply" on a message shows it above the composer ("Replying to Aki" and the start
// of its text; × or Escape cancels), and the next message sent carries its id as reply_to,
// through the outbox like any message (js/composer.js). The server checks it and quotes it
// above the reply; a click on a quote scrolls to the message it answers and marks it briefly.
(() => {
  "use strict";
  const K = window.Kehai;
  const PREVIEW = 100;
  const bar = () => document.querySelector("[data-replying]");
  const field = () => document.querySelector("#composer")?.elements.reply_to;
  const box = () => document.querySelector("#composer textarea");

  function replyTo(id) {
    const message = document.getElementById(`message-${id}`);
    const b = bar(), f = field();
    if (!message || !b || !f || message.querySelector(".message-content[data-deleted]")) return false;
    const name = message.querySelector(".message-author")?.textContent.trim() || "";
    const text = message.querySelector(".message-body")?.textContent.trim() || "";
    const label = b.querySelector(".replying-label");
    label.textContent = (label.dataset.text || "{name}").replace("{name}", name);
    b.querySelector(".replying-snippet").textContent = text.length > PREVIEW ? text.slice(0, PREVIEW - 1) + "…" : text;
    f.value = String(id);
    b.hidden = false;
    return true;
  }
  function cancel() {
    const b = bar(), f = field();
    if (f) f.value = "";
    if (b) b.hidden = true;
  }
  K.replyTo = replyTo;  // js/composer.js: a message handed back to the box keeps its reply
  K.cancelReply = cancel;

  document.addEventListener("click", (e) => {
    const button = e.target.closest?.("[data-message-reply]");
    if (button) {
      const id = button.closest("[data-message-id]")?.dataset.messageId;
      if (id && replyTo(id)) box()?.focus();
      return;
    }
    if (e.target.closest?.("[data-reply-cancel]")) {
      cancel();
      box()?.focus();
      return;
    }
    const quote = e.target.closest?.("[data-quote-of]");
    const target = quote && document.getElementById(`message-${quote.dataset.quoteOf}`);
    if (!target) return;  // not loaded (older than the history shown): the link does nothing
    e.preventDefault();
    // At once, not smoothly: a message swapped in mid-scroll (a read mark, a new message)
    // would find the view still near the bottom and keep it there (app.js).
    target.scrollIntoView({ block: "center" });
    target.classList.add("flash-target");
    setTimeout(() => target.classList.remove("flash-target"), 1600);
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && bar() && !bar().hidden && e.target === box()) cancel();
  });
  // The message being answered was deleted meanwhile: the reply would be refused, so stop.
  document.addEventListener("kehai:stream:message", (e) => {
    const data = e.detail?.data || "";
    if (K.kindOf(data) !== "message-changed" || !field()?.value) return;
    const deleted = /data-message-id="(\d+)"[^>]*data-deleted/.exec(data);
    if (deleted && deleted[1] === field().value) cancel();
  });
})();
