// espfctl inspector: the live list (server-sent events), keyboard moves,
// copy buttons and replay without leaving the page. Everything here is an
// addition: with JavaScript off the pages are complete (rendered by serve)
// and the replay forms post as plain forms.
"use strict";

const MAX_ROWS = 200; // rows kept in the live list; older ones are a page away

function $(sel, root) { return (root || document).querySelector(sel); }
function $$(sel, root) { return Array.from((root || document).querySelectorAll(sel)); }
function token() { const m = $('meta[name="espfctl-token"]'); return m ? m.content : ""; }

function setLive(state, text) {
  const el = $("#live");
  if (!el) return;
  el.className = "live " + state;
  el.textContent = text;
}

// Live list.
function startLive() {
  const table = $("#list");
  if (!table || !window.EventSource) return;
  const first = table.dataset.first === "true";
  const body = $("#rows");
  let unseen = 0;
  let opened = false;
  const es = new EventSource(table.dataset.stream);
  es.addEventListener("open", () => {
    setLive("on", "live");
    // After a cut (the browser was too slow, or serve restarted), catch up
    // from the database before adding rows again.
    if (opened && first) refresh(table, body);
    opened = true;
  });
  es.addEventListener("error", () => setLive("off", "reconnecting…"));
  es.addEventListener("dropped", () => setLive("off", "fell behind: catching up…"));
  es.addEventListener("counts", (e) => {
    const c = $("#counters");
    if (c) c.innerHTML = JSON.parse(e.data).html;
  });
  es.addEventListener("rows", (e) => {
    const msg = JSON.parse(e.data);
    if (!first) {
      unseen += msg.n + msg.skipped;
      const n = $("#newcount");
      if (n) n.textContent = " (" + unseen + " new since this page opened)";
      return;
    }
    const empty = $("tr.empty", body);
    if (empty) empty.remove();
    if (msg.skipped > 0) {
      body.insertAdjacentHTML("afterbegin", '<tr class="gap"><td colspan="9">' + msg.skipped +
        ' more deliveries arrived here too fast to show live — <a href="">reload</a> to list them</td></tr>');
    }
    for (const tr of $$("tr.fresh", body)) tr.classList.remove("fresh");
    body.insertAdjacentHTML("afterbegin", msg.html);
    const fresh = $$("tr", body).slice(0, msg.n);
    for (const tr of fresh) {
      tr.classList.add("fresh");
      // A duplicate raises the copies of its first delivery.
      if (tr.dataset.kind === "duplicate" && tr.dataset.ievent) {
        const firstRow = $('tr[data-key="first/' + tr.dataset.ievent + '"] .copies', body);
        if (firstRow) firstRow.textContent = tr.dataset.deliveries;
      }
    }
    const rows = body.rows;
    while (rows.length > MAX_ROWS) rows[rows.length - 1].remove();
  });
}

function refresh(table, body) {
  fetch(table.dataset.rows, { headers: { Accept: "text/html" } })
    .then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
    .then((html) => { body.innerHTML = html; })
    .catch(() => {});
}

// Keyboard: / search, j/k (or arrows in the list) move, Enter opens (the
// focused link), Esc goes back to the list, n the newest page.
function typing(e) {
  const t = e.target;
  return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
}

function moveFocus(step) {
  const links = $$("table.list tbody a.rowlink");
  if (!links.length) return;
  let i = links.indexOf(document.activeElement);
  i = i < 0 ? (step > 0 ? 0 : links.length - 1) : Math.min(links.length - 1, Math.max(0, i + step));
  links[i].focus();
  links[i].closest("tr").scrollIntoView({ block: "nearest" });
}

document.addEventListener("keydown", (e) => {
  if (e.altKey || e.ctrlKey || e.metaKey) return;
  if (e.key === "Escape" && typing(e)) { e.target.blur(); return; }
  if (typing(e)) return;
  const inList = document.activeElement && document.activeElement.classList.contains("rowlink");
  switch (e.key) {
    case "/": { const q = $('input[name="q"]'); if (q) { e.preventDefault(); q.focus(); q.select(); } break; }
    case "j": moveFocus(1); break;
    case "k": moveFocus(-1); break;
    case "ArrowDown": if (inList) { e.preventDefault(); moveFocus(1); } break;
    case "ArrowUp": if (inList) { e.preventDefault(); moveFocus(-1); } break;
    case "n": location.href = "/ui/"; break;
    case "Escape": if ($("#back")) { e.preventDefault(); goBack(); } break;
  }
});

function goBack() {
  let same = false;
  try { same = document.referrer && new URL(document.referrer).origin === location.origin; } catch (_) {}
  if (same && history.length > 1) history.back(); else location.href = "/ui/";
}

// Filters apply as soon as one changes.
function autoFilter() {
  const f = $("form.filters");
  if (!f) return;
  for (const s of $$("select", f)) s.addEventListener("change", () => f.requestSubmit());
  // Do not send empty parameters: the URL stays short and bookmarkable.
  f.addEventListener("formdata", (e) => {
    for (const [k, v] of Array.from(e.formData.entries())) if (v === "") e.formData.delete(k);
  });
}

// Copy buttons.
function copyButtons() {
  for (const b of $$("button.copy")) {
    b.addEventListener("click", async () => {
      const text = $("#" + b.dataset.copy).textContent;
      const label = b.textContent;
      try {
        await navigator.clipboard.writeText(text);
        b.textContent = "copied";
      } catch (_) {
        const r = document.createRange();
        r.selectNodeContents($("#" + b.dataset.copy));
        const sel = getSelection(); sel.removeAllRanges(); sel.addRange(r);
        b.textContent = "selected: press Ctrl+C";
      }
      setTimeout(() => { b.textContent = label; }, 1500);
    });
  }
}

// Replay without leaving the page; the new row shows in the list.
function replayForms() {
  for (const f of $$("form.replayform")) {
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      const out = $("#replay-result");
      const buttons = $$("button", f);
      buttons.forEach((b) => { b.disabled = true; });
      out.hidden = false;
      out.className = "result";
      out.textContent = "replaying…";
      try {
        const r = await fetch(f.action, {
          method: "POST", body: new URLSearchParams(new FormData(f)),
          headers: { Accept: "application/json", "X-Espfctl-Token": token() },
        });
        const res = await r.json();
        out.textContent = "";
        if (!r.ok && !res.answer) {
          out.className = "result bad";
          out.textContent = res.error || ("replay failed: " + r.status);
          return;
        }
        const cls = res.consequence === "delivered" ? "ok" : res.consequence === "dropped" ? "bad" : "warn";
        out.className = "result " + cls;
        const head = document.createElement("p");
        head.id = "replay-answer";
        const what = res.status ? "The Application answered " + res.status + " in " + res.ms.toFixed(1) + " ms"
          : "No answer from the Application (" + (res.error || "none") + "): serve would answer " + res.answer;
        head.textContent = what + " — " + res.words + ".";
        out.append(head);
        for (const n of res.notes || []) {
          const p = document.createElement("p"); p.className = "muted"; p.textContent = n; out.append(p);
        }
        if (res.body) {
          const pre = document.createElement("pre"); pre.className = "code"; pre.textContent = res.body; out.append(pre);
        }
        if (res.href) {
          const a = document.createElement("a"); a.href = res.href; a.id = "replay-link";
          a.textContent = "open the replay (listed as its own row, marked replay)"; out.append(a);
        }
      } catch (err) {
        out.className = "result bad";
        out.textContent = "replay failed: " + err;
      } finally {
        buttons.forEach((b) => { b.disabled = b.id === "replay-recorded" && b.hasAttribute("title"); });
      }
    });
  }
}

startLive();
autoFilter();
copyButtons();
replayForms();
