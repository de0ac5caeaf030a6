// The composer: Enter sends and Shift+Enter breaks the line (on a phone Enter breaks it); the draft survives navigation
// and reloads; nothing sent is lost (an outbox in localStorage, delivered in order and stored
// once thanks to its client_id); a typing report never outlives the message it belongs to.
(() => {
  "use strict";
  const K = window.Kehai;
  const THROTTLE_MS = 2000, TIMEOUT_MS = 15000, TRIES = 3;
  const form = () => document.querySelector("#composer");
  const conv = () => form()?.closest("main")?.dataset.conversationId || K.conversation();
  const draftKey = () => `kehai-draft:${K.me()}:${conv()}`;
  const outboxKey = () => `kehai-outbox:${K.me()}:${conv()}`;
  const live = () => document.body.dataset.link === "live";

  const autosize = (box) => { box.style.height = "auto"; box.style.height = Math.min(box.scrollHeight, 200) + "px"; };
  // A phone's keyboard has no Shift: there Enter breaks the line and the Send button sends
  // (touch = a coarse pointer with no hover, so a touch laptop with a mouse keeps Enter).
  const touchOnly = window.matchMedia("(pointer: coarse) and (hover: none)");
  document.addEventListener("keydown", (e) => {
    const f = form();
    if (!f || e.target !== f.elements.body || e.key !== "Enter" || e.shiftKey || e.isComposing || e.keyCode === 229) return;
    if (touchOnly.matches) return;
    e.preventDefault();
    if (f.elements.body.value.trim()) f.requestSubmit();
  });

  // -- typing: at most one report per 2 s, each numbered; sending closes the numbers before
  // it, so the server ignores a report that a slow link delivers after the message. The 2 s
  // count from the previous report's answer, not its start: a report held in the browser's
  // queue (six connections per host) would otherwise reach the server right before the next
  // one, and the server allows one a second.
  let typingTimer = 0, nextAt = 0, inFlight = false, wanted = false, started = false;
  const typingPost = (f, text) => {
    started = Boolean(text);
    if (!text) { K.post(f.dataset.typingUrl, { body: "", seq: String(K.tick()) }).catch(() => {}); return; }
    inFlight = true;
    K.post(f.dataset.typingUrl, { body: text, seq: String(K.tick()) }).catch(() => {}).finally(() => {
      inFlight = false;
      nextAt = Date.now() + THROTTLE_MS;
      if (wanted) { wanted = false; typed(f); }
    });
  };
  const typed = (f) => {
    clearTimeout(typingTimer);
    typingTimer = 0;
    if (!f.elements.body.value.trim()) { wanted = false; if (started) typingPost(f, ""); return; }  // emptied: stop
    if (inFlight) { wanted = true; return; }
    const wait = nextAt - Date.now();
    if (wait <= 0) typingPost(f, f.elements.body.value);
    else typingTimer = setTimeout(() => typed(f), wait);
  };
  document.addEventListener("input", (e) => {
    const f = form();
    if (!f || e.target !== f.elements.body) return;
    autosize(f.elements.body);
    const text = f.elements.body.value;
    if (text.trim()) K.store.set(draftKey(), text); else K.store.remove(draftKey());
    typed(f);
  });
  // Leaving the page with text in the box stops the typing indicator at once.
  window.addEventListener("pagehide", () => {
    const f = form();
    if (f && f.elements.body.value.trim()) K.post(f.dataset.typingUrl, { state: "stop", body: "" }, { keepalive: true }).catch(() => {});
  });

  // -- the outbox ------------------------------------------------------------------------
  const load = () => K.store.get(outboxKey(), []);
  const save = (list) => (list.length ? K.store.set(outboxKey(), list) : K.store.remove(outboxKey()));
  const update = (cid, change) => save(load().flatMap((e) => (e.cid !== cid ? [e] : change ? [{ ...e, ...change }] : [])));
  const sel = (attr, cid) => `#messages [${attr}="${CSS.escape(cid)}"]`;

  function render() {
    const box = document.querySelector("#messages"), tpl = document.getElementById("outbox-item");
    if (!box || !tpl) return;
    const list = load(), ids = new Set(list.map((e) => e.cid));
    box.querySelectorAll("[data-pending-id]").forEach((p) => ids.has(p.dataset.pendingId) || p.remove());
    for (const entry of list) {
      if (document.querySelector(sel("data-client-id", entry.cid) + "[data-message-id]")) { update(entry.cid, null); continue; }
      let item = document.querySelector(sel("data-pending-id", entry.cid));
      if (!item) {
        item = tpl.content.firstElementChild.cloneNode(true);
        item.dataset.pendingId = entry.cid;
        item.querySelector(".message-body").textContent = entry.body;
      }
      item.dataset.state = entry.state;
      box.append(item);  // after every stored message, in the order they were written
    }
  }

  document.addEventListener("submit", (e) => {
    const f = form();
    if (!f || e.target !== f) return;
    e.preventDefault();
    const body = f.elements.body.value.trim();
    if (!body) return;
    clearTimeout(typingTimer);  // the throttled typing report must not follow its message
    typingTimer = 0;
    wanted = started = false;  // sending stops typing on the server
    const entry = { cid: f.elements.client_id.value || K.newId(), body, typingSeq: String(K.tick()), state: "sending", tries: 0,
      replyTo: f.elements.reply_to?.value || "" };
    K.cancelReply?.();
    save([...load(), entry]);
    K.store.remove(draftKey());
    f.elements.body.value = "";
    autosize(f.elements.body);
    f.elements.client_id.value = K.newId();
    f.elements.body.focus();
    render();
    const box = document.querySelector("#messages");
    if (box) box.scrollTop = box.scrollHeight;
    flush();
  });

  let retryTimer = 0;
  // One tab at a time delivers a conversation's outbox (tabs share localStorage), in order.
  const flush = () => (navigator.locks ? navigator.locks.request(outboxKey(), deliverAll) : deliverAll());
  async function deliverAll() {
    for (const entry of load()) {
      if (entry.state !== "sending") continue;
      if (await deliver(entry) === "later") return;  // keep the order: nothing overtakes it
    }
  }
  async function deliver(entry) {
    const f = form(), ac = new AbortController(), timer = setTimeout(() => ac.abort(), TIMEOUT_MS);
    let res;
    try {
      const fields = { body: entry.body, client_id: entry.cid, typing_seq: entry.typingSeq };
      if (entry.replyTo) fields.reply_to = entry.replyTo;
      res = await K.post(f.getAttribute("action"), fields, { signal: ac.signal, htmx: true });
    } catch {
      res = null;  // down, cut or timed out: it may have been stored, the client_id makes a retry safe
    } finally {
      clearTimeout(timer);
    }
    if (res && res.ok) {
      await htmx.swap({ sourceElement: f, target: f, swap: "none", text: await res.text() });
      update(entry.cid, null);
      render();
      return "sent";
    }
    if (res && res.status === 429) {
      // Too fast: say so (the server's own message), and hand the text back to the box, where
      // the person sees it and sends it again when ready; nothing is lost, nothing queued behind.
      await htmx.swap({ sourceElement: f, target: f, swap: "none", text: await res.text() }).catch(() => {});
      const box = f.elements.body;
      if (!box.value.trim()) {
        box.value = entry.body;
        autosize(box);
        f.elements.client_id.value = entry.cid;  // the same id: a retry is stored once
        if (entry.replyTo) K.replyTo?.(entry.replyTo);  // still a reply to the same message
        update(entry.cid, null);
      } else {
        update(entry.cid, { state: "failed" });
      }
      render();
      return "later";
    }
    if (res && res.status !== 408 && res.status < 500) {
      // Sending the same again cannot help (too long, a stale form, no longer a member).
      await htmx.swap({ sourceElement: f, target: f, swap: "none", text: await res.text() }).catch(() => {});
      update(entry.cid, { state: "failed" });
      render();
      return "failed";
    }
    const tries = (entry.tries || 0) + 1;
    // While the stream is down the message waits for it; a server that is up but keeps
    // failing the POST gets a few tries, then the person decides.
    const failed = live() && tries >= TRIES;
    update(entry.cid, { tries, state: failed ? "failed" : "sending" });
    render();
    if (failed) return "failed";
    clearTimeout(retryTimer);
    if (live()) retryTimer = setTimeout(flush, 1000 * 2 ** (tries - 1));
    return "later";
  }
  document.addEventListener("kehai:stream:live", () => {
    save(load().map((e) => (e.state === "sending" ? { ...e, tries: 0 } : e)));
    flush();
  });
  document.addEventListener("click", (e) => {
    const button = e.target.closest?.("[data-outbox]");
    const item = button?.closest("[data-pending-id]");
    if (!item) return;
    if (button.dataset.outbox === "delete") update(item.dataset.pendingId, null);
    else update(item.dataset.pendingId, { state: "sending", tries: 0 });
    render();
    if (button.dataset.outbox === "retry") flush();
  });
  // The history is re-fetched on resync, and other tabs change the outbox: draw it again.
  document.addEventListener("htmx:after:swap", render);
  window.addEventListener("storage", (e) => { if (e.key === outboxKey()) render(); });

  const init = () => {
    const f = form();
    if (!f) return;
    f.elements.client_id.value = K.newId();
    const draft = K.store.get(draftKey());
    if (draft && !f.elements.body.value) { f.elements.body.value = draft; autosize(f.elements.body); }
    render();
    if (load().some((e) => e.state === "sending")) flush();
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
