// The live stream, one per browser, shared by all its tabs. Over HTTP/1.1 a browser opens at
// most six connections per host: with a stream per tab the seventh tab never loaded. The tab
// holding the Web Lock (the leader) reads /sse; it relays every message over a
// BroadcastChannel and every tab applies it itself, once: event ids only grow, so a tab drops
// an id it has already applied. When the leader goes, the next tab in the lock's queue takes
// over and resumes from the lowest position any tab reports, so no tab misses anything.
(() => {
  "use strict";
  const K = window.Kehai;
  const me = K.me();
  const SIGNED_OUT = "kehai-signed-out";
  const channelOf = (user) => new BroadcastChannel("kehai:" + user);

  // The sign-in page after this tab signed out: the server has ended the session, tell the rest.
  const left = sessionStorage.getItem(SIGNED_OUT);
  if (left && !me) { sessionStorage.removeItem(SIGNED_OUT); channelOf(left).postMessage({ t: "signed-out" }); }
  const el = document.getElementById("stream");
  if (!el || !me) return;
  document.addEventListener("submit", (e) => { if (e.target.matches("form.logout")) sessionStorage.setItem(SIGNED_OUT, me); });

  const HEARTBEAT_MS = 1000 * Number(K.meta("kehai-heartbeat") || 20);
  const STALL_MS = 2.5 * HEARTBEAT_MS;  // no byte (event or ping) for this long: the stream is gone
  const SHOW_AFTER_MS = 600;  // a routine reconnect (the 30-minute cap) does not flash a notice
  const OFFLINE_AFTER = 4;  // failed attempts in a row (about 4 s) before "Offline — retrying in N s"
  const KEEP = 500;  // messages the leader keeps for tabs that open while it leads
  const LOCK = "kehai-stream:" + me;
  const channel = channelOf(me);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  let leading = false, joined = false, early = [], positions = [], gone = false;
  let link = "connecting", retryAt = 0, showTimer = 0, ticker = 0;
  let resumeFrom = null, current = null, wake = null, retryAfter = 0;
  const recent = [];
  let recentFrom = null;  // the leader's record is complete after this position

  // -- positions: "<epoch>-<seq>", seq growing within an epoch -----------------------------
  const parse = (raw) => {
    const m = /^([A-Za-z0-9]+)-(\d{1,18})$/.exec(raw || "");
    return m ? { raw, epoch: m[1], seq: BigInt(m[2]) } : null;
  };
  const after = (a, b) => !b || a.epoch !== b.epoch || a.seq > b.seq;  // a is news to b
  let at = parse(el.dataset.since);  // the newest event this page reflects

  // -- applying one message: each fragment on its own, with htmx's own swap --------------
  // One bad fragment (say an invalid selector) must cost only itself: hx-sse's loop left the
  // stream on such an error and reconnected, leaking the old response's connection.
  const kindOf = K.kindOf;
  const pieces = (data) => {
    const t = document.createElement("template");
    t.innerHTML = data.replace(/<hx-([a-z]+)(\s+|>)/gi, '<template hx type="$1"$2')
      .replace(/<\/hx-[a-z]+>/gi, "</template>");
    return [...t.content.querySelectorAll("template[hx], [hx-swap-oob]")].map((p) => p.outerHTML);
  };
  const resync = () => document.body.dispatchEvent(new CustomEvent("kehai:resync", { bubbles: true }));
  async function applyNow(msg) {
    const id = parse(msg.id), kind = msg.event || kindOf(msg.data);
    const marker = kind === "hello" || kind === "resync";  // positions, never content
    if (id && !marker && !after(id, at)) return;  // applied already (replay, or a second relay)
    const unplaced = id && at && id.epoch !== at.epoch && kind !== "resync";
    if (id && after(id, at)) at = id;
    if (msg.event === "close") return signedOut(true);
    for (const piece of msg.event ? [] : pieces(msg.data || "")) {
      try {
        await htmx.swap({ sourceElement: el, target: el, swap: "none swapEmpty:false", text: piece });
      } catch (e) {
        console.warn("kehai: one fragment could not be applied (the others were):", e);
      }
    }
    K.emit("kehai:stream:message", msg);
    if (kind === "resync" || unplaced) resync();  // we cannot tell what we missed: re-fetch
  }
  let queue = Promise.resolve();
  const apply = (msg) => (queue = queue.then(() => applyNow(msg))
    .catch((e) => console.warn("kehai: a stream message could not be applied:", e)));

  // -- what every tab shows about the link -------------------------------------------------
  const notice = document.getElementById("link-notice");
  const down = () => document.body.classList.contains("link-down");
  function setDown(on) {
    document.body.classList.toggle("link-down", on);
    // What others are doing is no longer known: better nothing than a stale "is typing".
    if (on) document.querySelectorAll("[data-typing-of], [data-typing-list-of]").forEach((t) => { t.textContent = ""; });
    renderNotice(true);
  }
  function renderNotice(announce) {
    if (!notice) return;
    const secs = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
    const text = !down() ? "" : link === "offline"
      ? notice.dataset.offline.replace("{n}", String(secs)) : notice.dataset.reconnecting;
    notice.querySelector(".link-text").textContent = text;  // visible, ticks every second
    if (announce) notice.querySelector("[role=status]").textContent = text;  // read out once
    notice.querySelector("[data-retry-now]").hidden = !(down() && link === "offline");
  }
  function show(state, until) {
    const was = link;
    link = state; retryAt = until || 0;
    document.body.dataset.link = state;
    clearInterval(ticker);
    if (state === "live") {
      clearTimeout(showTimer); showTimer = 0;
      const wasDown = down();
      if (wasDown) setDown(false);
      if (was !== "live") K.emit("kehai:stream:live", { leader: leading });
      if (wasDown) resync();  // after a visible outage, refresh the regions
      return;
    }
    if (state === "connecting") return;
    if (!down() && !showTimer) showTimer = setTimeout(() => { showTimer = 0; if (link !== "live") setDown(true); }, SHOW_AFTER_MS);
    if (down()) renderNotice(was !== state || state === "offline");
    if (state === "offline") ticker = setInterval(() => renderNotice(false), 1000);
  }
  notice?.querySelector("[data-retry-now]").addEventListener("click", () => (leading ? retryNow() : channel.postMessage({ t: "retry" })));

  // -- signing out anywhere ends every tab of the session ----------------------------------
  function signedOut(tell) {
    if (gone) return;
    gone = true;
    if (tell) channel.postMessage({ t: "signed-out" });
    current?.abort();
    document.dispatchEvent(new Event("kehai:signed-out"));  // nothing more to report
    location.replace("/login");
  }

  // -- the relay ---------------------------------------------------------------------------
  channel.onmessage = ({ data: m }) => {
    if (m.t === "event" && !leading) (joined ? apply(m.msg) : early.push(m.msg));
    else if (m.t === "link" && !leading && joined) show(m.state, m.retryAt);
    else if (m.t === "hello" && leading) welcome(m);
    else if (m.t === "welcome" && m.to === K.tab && !joined) join(m);
    else if (m.t === "where" && !leading) where();
    else if (m.t === "at") positions.push(m.id);
    else if (m.t === "retry" && leading) retryNow();
    else if (m.t === "signed-out") signedOut(false);
  };
  function welcome({ tab, at: raw }) {
    const from = parse(raw);
    const covered = from && recentFrom && from.epoch === recentFrom.epoch && from.seq >= recentFrom.seq;
    const events = covered ? recent.filter((m) => { const id = parse(m.id); return id && after(id, from); }) : null;
    channel.postMessage({ t: "welcome", to: tab, events, head: at ? at.raw : "", state: link, retryAt });
  }
  // A new leader asks where every tab is and resumes from the lowest. A tab still waiting for
  // its welcome forgets what it held back: the new stream brings it all again, in order.
  function where() {
    if (!joined) { joined = true; early = []; }
    channel.postMessage({ t: "at", id: at ? at.raw : "" });
  }
  function join({ events, head, state, retryAt: until }) {
    joined = true;
    if (events) events.forEach(apply);
    else { at = parse(head) || at; resync(); }  // the leader cannot fill our gap: re-fetch
    early.forEach(apply);  // relayed before the welcome: the ones already applied are dropped
    early = [];
    queue.then(() => show(state, until));
  }
  // A tab that joins asks the leader for what it relayed since the page was rendered; until
  // the answer, relayed messages wait (applying a newer one first would drop the older).
  if (navigator.locks) {
    channel.postMessage({ t: "hello", tab: K.tab, at: at ? at.raw : "" });
    setTimeout(() => { if (!joined && !leading) join({ events: null, head: "", state: link }); }, 3000);
    navigator.locks.request(LOCK, () => lead(true));
  } else {
    lead(false);  // no Web Locks (not a secure context): this tab keeps its own stream
  }

  // -- the leader: read /sse with fetch, relay, reconnect ----------------------------------
  function retryNow() { if (wake) wake(); }
  const relay = (msg) => {
    if (!navigator.locks) return;
    channel.postMessage({ t: "event", msg });
    recent.push(msg);
    if (recent.length > KEEP) recentFrom = parse(recent.shift().id) || recentFrom;
  };
  async function lowest() {
    const waiting = (await navigator.locks.query()).pending?.some((l) => l.name === LOCK);
    if (!waiting) return at;  // no other tab of this user
    positions = [];
    channel.postMessage({ t: "where" });
    await sleep(150);
    let low = at;
    for (const id of positions.map(parse)) if (id && low && id.epoch === low.epoch && id.seq < low.seq) low = id;
    return low;
  }
  async function lead(shared) {
    leading = true;
    el.dataset.role = "leader";
    if (!joined) { joined = true; early.forEach(apply); early = []; }
    await queue;
    resumeFrom = shared ? await lowest() : at;
    recentFrom = resumeFrom;
    let failures = 0;
    while (!gone) {
      const outcome = await readStream();
      if (gone || outcome === "signed-out") break;
      failures = outcome === "ended" ? 0 : failures + 1;
      const base = failures ? Math.min(15000, 500 * 2 ** (failures - 1)) : 300;
      const delay = Math.max(base * (0.7 + 0.6 * Math.random()), 1000 * retryAfter);
      retryAfter = 0;
      setLink(failures >= OFFLINE_AFTER ? "offline" : "reconnecting", Date.now() + delay);
      await new Promise((r) => { wake = r; setTimeout(r, delay); });
      wake = null;
    }
    return new Promise(() => {});  // keep the lock until the page goes
  }
  function setLink(state, until = 0) {
    show(state, until);
    if (navigator.locks) channel.postMessage({ t: "link", state, retryAt: until });
  }
  window.addEventListener("online", retryNow);
  window.addEventListener("offline", () => current?.abort());  // the system knows before a timeout
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible" && link !== "live") retryNow(); });

  async function readStream() {
    const ac = current = new AbortController();
    K.emit("kehai:stream:attempt");
    const headers = { Accept: "text/event-stream" };
    if (resumeFrom) headers["Last-Event-ID"] = resumeFrom.raw;
    let stall = setTimeout(() => ac.abort(), Math.max(10000, STALL_MS));
    let live = false, res = null;
    try {
      res = await fetch(`${el.dataset.url}?tab=${encodeURIComponent(K.tab)}`,
        { headers, credentials: "same-origin", cache: "no-store", signal: ac.signal });
      if (res.status === 401) { signedOut(true); return "signed-out"; }
      if (!res.ok) { retryAfter = Number(res.headers.get("Retry-After")) || 0; return "failed"; }
      const reader = res.body.getReader(), decoder = new TextDecoder();
      let buffer = "", msg = { id: "", event: "", data: null };
      for (;;) {
        clearTimeout(stall);
        stall = setTimeout(() => ac.abort(), STALL_MS);
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        const lines = buffer.split("\n");
        buffer = lines.pop();
        for (const raw of lines) {
          const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
          if (!line) {  // a blank line ends a message
            if (msg.data !== null || msg.event) live = dispatch(msg) || live;
            msg = { id: "", event: "", data: null };
            continue;
          }
          if (line[0] === ":") continue;  // the heartbeat; it already re-armed the watchdog
          const i = line.indexOf(":");
          const field = i < 0 ? line : line.slice(0, i);
          const value = i < 0 ? "" : line.slice(i + (line[i + 1] === " " ? 2 : 1));
          if (field === "data") msg.data = msg.data === null ? value : msg.data + "\n" + value;
          else if (field === "event") msg.event = value;
          else if (field === "id" && !value.includes("\0")) msg.id = value;
        }
      }
    } catch (e) {
      if (!gone) K.emit("kehai:stream:error", { error: String(e) });
    } finally {
      clearTimeout(stall);
      ac.abort();  // always end the response: a stream left behind holds one of six connections
      if (current === ac) current = null;
    }
    return live ? "ended" : "failed";
  }
  function dispatch(msg) {
    const id = parse(msg.id), kind = kindOf(msg.data);
    if (id) resumeFrom = id;
    if (kind === "resync") { recent.length = 0; recentFrom = id; }  // a gap: older tabs re-fetch
    relay(msg);
    apply(msg);
    if (kind !== "hello" && kind !== "resync") return false;
    queue.then(() => setLink("live"));
    return true;
  }
  window.addEventListener("pageshow", (e) => { if (e.persisted) location.reload(); });  // stale lock state
})();
