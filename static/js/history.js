// A readable history: day separators (今日 / 昨日 / 12月1日(火), Today / Yesterday / Tuesday,
// December 1) and runs of one author's messages shown as a group (name and avatar once).
// Both depend on the reader's time zone, so they are drawn here, in the browser, and from
// the DOM alone: the first page, a live message (upserted in id order), "Load older" (a page
// prepended) and the resync re-fetch all end in an htmx swap, after which `arrange` runs
// again over #messages. It only adds, moves or removes what changed, so the reader's scroll
// position and focus stay where they were.
(() => {
  "use strict";
  const GROUP_MS = 5 * 60 * 1000;  // a pause longer than this starts a new group
  const lang = () => document.documentElement.lang || undefined;
  const dayKey = (d) => `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
  const created = (m) => new Date(m.dataset.created || "");

  const dayLabel = (d, now = new Date()) => {
    const midnight = (x) => new Date(x.getFullYear(), x.getMonth(), x.getDate());
    const days = Math.round((midnight(d) - midnight(now)) / 86400000);
    if (days === 0 || days === -1) {
      const word = new Intl.RelativeTimeFormat(lang(), { numeric: "auto" }).format(days, "day");
      return word.charAt(0).toLocaleUpperCase(lang()) + word.slice(1);  // "today" → "Today"
    }
    const opts = { weekday: lang() === "ja" ? "short" : "long", month: "long", day: "numeric" };
    if (d.getFullYear() !== now.getFullYear()) opts.year = "numeric";
    return d.toLocaleDateString(lang(), opts);
  };

  const separator = (key, d) => {
    const s = document.createElement("p");
    s.className = "day-separator";
    s.dataset.day = key;
    s.innerHTML = "<span></span>";
    s.firstChild.textContent = dayLabel(d);
    return s;
  };

  function arrange() {
    const box = document.querySelector("#messages");
    if (!box) return;
    const kept = new Set();
    let prev = null;
    for (const m of box.querySelectorAll(":scope > .message[data-message-id]")) {
      const d = created(m);
      if (isNaN(d)) { prev = null; continue; }
      const key = dayKey(d), prevDate = prev && created(prev);
      if (!prev || dayKey(prevDate) !== key) {
        let s = m.previousElementSibling;
        if (!(s && s.matches(".day-separator") && s.dataset.day === key)) {
          s = box.querySelector(`:scope > .day-separator[data-day="${key}"]`) || separator(key, d);
          m.before(s);
        }
        const label = dayLabel(d);  // today becomes yesterday at midnight
        if (s.firstChild.textContent !== label) s.firstChild.textContent = label;
        kept.add(s);
        m.classList.remove("continued");
      } else {
        const same = prev.dataset.author === m.dataset.author && d - prevDate <= GROUP_MS;
        m.classList.toggle("continued", same);
      }
      prev = m;
    }
    box.querySelectorAll(":scope > .day-separator").forEach((s) => kept.has(s) || s.remove());
  }

  // After the settle too: htmx's settle step puts back the class a re-fetched element came with.
  document.addEventListener("htmx:after:swap", arrange);
  document.addEventListener("htmx:after:settle", arrange);
  setInterval(arrange, 60000);  // a history left open over midnight relabels its days
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", arrange); else arrange();
})();
