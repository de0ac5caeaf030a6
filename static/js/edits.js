// Editing and deleting one's own messages, in place. The buttons are in every copy of a
// message (one rendering is shared by all members) and shown only on one's own (app.css);
// the server checks the author again. The answer, like the live event every other tab gets,
// redraws the message's content (messages/_changed_parts.html).
(() => {
  "use strict";
  const K = window.Kehai;
  const composer = () => document.getElementById("composer");
  const template = () => document.getElementById("edit-form");
  const urlFor = (id, action) => `${composer().getAttribute("action")}/${encodeURIComponent(id)}/${action}`;
  const touch = () => window.matchMedia("(pointer: coarse)").matches;
  const applyAnswer = async (res) => {
    const f = composer();
    await htmx.swap({ sourceElement: f, target: f, swap: "none", text: await res.text() });
  };
  // The same flash an error answer brings (errors/_flash.html): text, and a ✕ that closes it.
  const say = (text) => {
    const flash = document.getElementById("flash");
    if (!flash) return;
    const p = document.createElement("p"), span = document.createElement("span");
    const x = document.createElement("button");
    p.className = "flash-message";
    span.className = "flash-text";
    span.textContent = text;
    Object.assign(x, { type: "button", className: "flash-close", textContent: "×" });
    x.dataset.flashClose = "";
    x.setAttribute("aria-label", template().dataset.dismiss);
    p.append(span, " ", x);
    flash.replaceChildren(p);
  };

  function close(article) {
    article.querySelector("form.message-edit")?.remove();
    article.classList.remove("editing");
    article.querySelector("[data-message-edit]")?.focus();
  }

  function open(article) {
    if (article.classList.contains("editing")) return;
    const body = article.querySelector(".message-content .message-body");
    const tpl = template();
    if (!body || !tpl) return;
    const form = tpl.content.firstElementChild.cloneNode(true);
    const box = form.elements.body;
    box.value = body.textContent;
    box.id = `edit-${article.dataset.messageId}`;
    form.querySelector("label").htmlFor = box.id;
    article.classList.add("editing");
    article.querySelector(".message-content").after(form);
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
  }

  async function save(article, form) {
    const text = form.elements.body.value.trim();
    if (!text) return;
    form.querySelector("[type=submit]").disabled = true;
    let res = null;
    try {
      res = await K.post(urlFor(article.dataset.messageId, "edit"), { body: text }, { htmx: true });
    } catch {
      say(template().dataset.failed);  // kept open with the text: nothing is lost
    }
    form.querySelector("[type=submit]").disabled = false;
    if (!res) return;
    await applyAnswer(res).catch(() => {});
    if (res.ok) close(article);
  }

  async function remove(article) {
    if (!window.confirm(template().dataset.confirmDelete)) return;
    try {
      await applyAnswer(await K.post(urlFor(article.dataset.messageId, "delete"), {}, { htmx: true }));
    } catch {
      say(template().dataset.failed);
    }
  }

  document.addEventListener("click", (e) => {
    const article = e.target.closest?.("#messages .message.mine[data-message-id]");
    if (!article) return;
    if (e.target.closest("[data-message-edit]")) open(article);
    else if (e.target.closest("[data-message-delete]")) remove(article);
    else if (e.target.closest("[data-edit-cancel]")) close(article);
  });
  document.addEventListener("submit", (e) => {
    if (!e.target.matches("form.message-edit")) return;
    e.preventDefault();
    save(e.target.closest(".message"), e.target);
  });
  document.addEventListener("keydown", (e) => {
    const form = e.target.closest?.("form.message-edit");
    if (!form) return;
    if (e.key === "Escape") { e.preventDefault(); close(form.closest(".message")); }
    // As in the composer: Enter saves, Shift+Enter (or any Enter on a touch keyboard) is a
    // new line, and Enter that ends an IME composition is never a save.
    else if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229 && !touch()) {
      e.preventDefault();
      form.requestSubmit();
    }
  });

  // A deleted message that was unread no longer counts: re-count the list (only where a
  // badge could be wrong, and spread out, so a big room's delete is no burst of requests).
  document.addEventListener("kehai:stream:message", (e) => {
    const data = e.detail.data || "";
    if (K.kindOf(data) !== "message-changed" || !/ data-deleted/.test(data.split(">")[0])) return;
    const conv = (data.match(/data-conversation-id="(\d+)"/) || [])[1];
    const badge = document.querySelector(`[data-unread-of="${conv}"]`);
    if (!badge || badge.hidden) return;
    setTimeout(() => document.body.dispatchEvent(new CustomEvent("kehai:refresh-list", { bubbles: true })),
      Math.random() * 1000);
  });
})();
