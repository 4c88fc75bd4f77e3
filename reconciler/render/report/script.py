"""The report page's script (inlined: the page loads nothing).

It unpacks the page's data (zlib-compressed JSON in base64, so 10,000 coupons and their plan blocks stay a small
file; the blocks come in chunks, each inflated when a page of the plan list first shows it), draws the virtualised
campaign timeline and the paged plan list, and marks `<html data-ready="true">` when the page is drawn. Times are
shown in +08:00 whatever the reader's time zone; the timeline's scale is published on `#timeline` (`data-t0`,
`data-t1`: Unix seconds at the left and right edges of every row's `.tl-track`).
"""

JS = r"""
(function () {
  "use strict";
  const ROW = 22, OVERSCAN = 10, PAGE = 100, OFFSET = 8 * 3600, DAY = 86400, MAX_HEIGHT = 440;
  const $ = (id) => document.getElementById(id);

  async function inflate(base64) {  // base64 of zlib-compressed JSON -> the value
    const raw = atob(base64);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return JSON.parse(await new Response(stream).text());
  }

  const pad = (n) => String(n).padStart(2, "0");
  function ymd(s) {
    const d = new Date((s + OFFSET) * 1000);
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate());
  }
  function bj(s) {  // as couponctl prints times: 2028-11-11 00:00:00 +08:00
    const d = new Date((s + OFFSET) * 1000);
    return ymd(s) + " " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds()) +
      " +08:00";
  }
  function yuan(fen) {
    const sign = fen < 0 ? "-" : "", abs = Math.abs(fen);
    const whole = Math.floor(abs / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return sign + "¥" + whole + "." + pad(abs % 100);
  }
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function timeline(data) {
    const f = {};
    data.fields.forEach((name, i) => { f[name] = i; });
    const C = data.coupons, section = $("timeline"), vp = $("tl-viewport"), inner = $("tl-inner");
    const rowsEl = $("tl-rows"), nowEl = $("tl-now"), axis = $("tl-axis"), detail = $("tl-detail");
    const label = parseFloat(getComputedStyle(document.documentElement).getPropertyValue("--label")) || 320;
    let t0 = data.now, t1 = data.now;
    for (const c of C) {
      for (const k of [f.claim_start, f.claim_end, f.valid_start, f.valid_end]) {
        const v = c[k];
        if (v !== null) { if (v < t0) t0 = v; if (v > t1) t1 = v; }
      }
    }
    if (t1 - t0 < 2 * DAY) { t0 -= DAY; t1 += DAY; }
    const margin = (t1 - t0) * 0.03;
    t0 = Math.floor(t0 - margin); t1 = Math.ceil(t1 + margin);
    let W = 0, lines = [], pinned = null;
    const x = (t) => (t - t0) / (t1 - t0) * W;

    function layout() {
      W = Math.max(vp.clientWidth - label, 200);
      section.dataset.t0 = String(t0); section.dataset.t1 = String(t1); section.dataset.width = String(W);
      axis.style.width = W + "px";
      axis.replaceChildren();
      const steps = [1, 2, 7, 14, 30, 61, 91, 182, 365, 730];
      const step = (steps.find((d) => (d * DAY) / (t1 - t0) * W >= 70) || 1461) * DAY;
      let tick = Math.ceil((t0 + OFFSET) / DAY) * DAY - OFFSET;
      for (; tick < t1; tick += step) {
        const t = el("div", "tick", step >= 365 * DAY ? ymd(tick) : ymd(tick).slice(5));
        t.style.left = x(tick) + "px";
        axis.append(t);
      }
      const nowLabel = el("div", "now-label", "now " + bj(data.now).slice(0, 16));
      nowLabel.style.left = x(data.now) + "px";
      axis.append(nowLabel);
      nowEl.style.left = label + x(data.now) + "px";
    }

    function filter(text) {
      const q = text.trim().toLowerCase();
      const shown = C.map((c, i) => i).filter((i) => !q || (C[i][f.address] + " " + (C[i][f.name] || "") + " " +
        data.groups[C[i][f.group]]).toLowerCase().includes(q));
      const perGroup = {};
      for (const i of shown) perGroup[C[i][f.group]] = (perGroup[C[i][f.group]] || 0) + 1;
      lines = [];
      let group = -1;
      for (const i of shown) {
        if (C[i][f.group] !== group) { group = C[i][f.group]; lines.push({ g: group, n: perGroup[group] }); }
        lines.push({ c: i });
      }
      inner.style.height = lines.length * ROW + "px";
      vp.style.height = Math.min(MAX_HEIGHT, Math.max(lines.length, 2) * ROW + 2) + "px";
      const files = new Set(Object.keys(perGroup).map((g) => data.group_files[g])).size;
      $("tl-count").textContent = (q ? shown.length + " of " + C.length : String(C.length)) + " coupon" +
        (C.length === 1 ? "" : "s") + " in " + files + " manifest file" + (files === 1 ? "" : "s");
    }

    function bar(track, kind, s, e, cls, rel) {
      if (s === null || e === null) return;
      const b = el("div", "bar " + kind + " " + cls + (rel ? " rel" : ""));
      b.style.left = x(s) + "px";
      b.style.width = Math.max(x(e) - x(s), 2) + "px";
      b.dataset.start = String(s); b.dataset.end = String(e);
      track.append(b);
    }

    function line(item, i) {
      if (item.g !== undefined) {
        const g = el("div", "tl-group", data.groups[item.g] + " (" + item.n + ")");
        g.style.top = i * ROW + "px";
        return g;
      }
      const c = C[item.c], action = c[f.action];
      const row = el("div", "tl-row" + (pinned === item.c ? " pinned" : ""));
      row.style.top = i * ROW + "px";
      row.dataset.index = String(item.c); row.dataset.address = c[f.address];
      const name = el("div", "tl-label");
      name.append(el("span", "sym t-" + (action || "none"), action ? data.symbols[action] : ""), c[f.address]);
      const track = el("div", "tl-track");
      track.style.width = W + "px";
      const cls = data.status_classes[c[f.status]];
      bar(track, "claim", c[f.claim_start], c[f.claim_end], cls, false);
      bar(track, "valid", c[f.valid_start], c[f.valid_end], cls, c[f.relative] === 1);
      row.append(name, track);
      return row;
    }

    function draw() {
      const top = vp.scrollTop, h = vp.clientHeight || 440;
      const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
      const last = Math.min(lines.length, Math.ceil((top + h) / ROW) + OVERSCAN);
      const frag = document.createDocumentFragment();
      for (let i = first; i < last; i++) frag.append(line(lines[i], i));
      rowsEl.replaceChildren(frag);
    }

    function range(s, e) {
      return s === null || e === null ? "not stated" : bj(s) + " – " + bj(e);
    }

    function show(i) {
      const c = C[i], action = c[f.action];
      const value = c[f.value_fen];
      const fields = [
        ["Address", c[f.address]],
        ["Name", c[f.name] || "-"],
        ["Kind / type", c[f.kind] + (c[f.type] !== null ? ", type " + data.types[c[f.type]] : "")],
        ["Status", data.statuses[c[f.status]]],
        ["This plan", action ? data.symbols[action] + " " + data.legend[action] : "no change"],
        ["Claim window", range(c[f.claim_start], c[f.claim_end])],
        ["Validity", (c[f.valid_note] !== null ? data.notes[c[f.valid_note]] + ": " : "") +
          range(c[f.valid_start], c[f.valid_end])],
        ["Quantity", c[f.quantity] === null ? "-" : String(c[f.quantity])],
        ["Value if all used", value === null ? "depends on the order" : yuan(value)],
        ["Upstream id", c[f.upstream_id] || "-"],
        ["Manifest", data.group_files[c[f.group]] + (c[f.line] !== null ? ":" + c[f.line] : "")],
        ["Coupon set", c[f.set] !== null ? data.notes[c[f.set]] : "-"],
      ];
      const table = el("table");
      for (const [k, v] of fields) {
        const tr = el("tr");
        tr.append(el("td", "", k), el("td", "", v));
        table.append(tr);
      }
      detail.replaceChildren(table);
      detail.dataset.address = c[f.address];
    }

    vp.addEventListener("scroll", () => requestAnimationFrame(draw), { passive: true });
    vp.addEventListener("mouseover", (ev) => {
      const row = ev.target.closest(".tl-row");
      if (row && pinned === null) show(Number(row.dataset.index));
    });
    vp.addEventListener("click", (ev) => {
      const row = ev.target.closest(".tl-row");
      if (!row) return;
      const i = Number(row.dataset.index);
      pinned = pinned === i ? null : i;
      show(i);
      detail.classList.toggle("pinned", pinned !== null);
      draw();
    });
    let pending = null;
    $("tl-filter").addEventListener("input", (ev) => {
      clearTimeout(pending);
      pending = setTimeout(() => { filter(ev.target.value); vp.scrollTop = 0; layout(); draw(); }, 120);
    });
    window.addEventListener("resize", () => { layout(); draw(); });
    filter("");  // sets the viewport's height first: a scrollbar, if any, narrows the tracks layout() measures
    layout();
    draw();
  }

  async function planList(data) {
    const list = $("plan-list");
    if (!list) return;
    const A = data.actions, select = $("plan-filter"), prev = $("plan-prev"), next = $("plan-next");
    const chunks = new Map();
    const texts = (k) => {  // the blocks of chunk k, inflated once, when first shown
      if (!chunks.has(k)) chunks.set(k, inflate(data.plan_chunks[k]));
      return chunks.get(k);
    };
    const counts = {};
    for (const a of A) counts[a[1]] = (counts[a[1]] || 0) + 1;
    select.append(new Option("every action (" + A.length + ")", ""));
    for (const t of data.action_types) {
      if (counts[t]) select.append(new Option(t.replace("_", " ") + " (" + counts[t] + ")", t));
    }
    let shown = A.map((a, i) => i), page = 0, drawing = 0;
    async function draw() {
      const token = ++drawing;
      const start = page * PAGE, end = Math.min(shown.length, start + PAGE);
      const slice = shown.slice(start, end), size = data.plan_chunk;
      const needed = [...new Set(slice.map((i) => Math.floor(i / size)))];
      const loaded = new Map(await Promise.all(needed.map(async (k) => [k, await texts(k)])));
      if (token !== drawing) return;  // a newer page was asked for meanwhile
      const frag = document.createDocumentFragment();
      for (const i of slice) {
        const [address, type, group] = A[i];
        const entry = el("article", "entry t-" + type);
        entry.dataset.address = address; entry.dataset.type = type;
        entry.append(el("div", "file", group + ":"), el("pre", "", loaded.get(Math.floor(i / size))[i % size]));
        frag.append(entry);
      }
      list.replaceChildren(frag);
      list.dataset.page = String(page + 1);
      $("plan-range").textContent = shown.length ? (start + 1) + "–" + end + " of " + shown.length : "none";
      prev.disabled = page === 0;
      next.disabled = end >= shown.length;
    }
    select.addEventListener("change", () => {
      shown = A.map((a, i) => i).filter((i) => !select.value || A[i][1] === select.value);
      page = 0;
      draw();
    });
    prev.addEventListener("click", () => { page = Math.max(0, page - 1); draw(); });
    next.addEventListener("click", () => { if ((page + 1) * PAGE < shown.length) page += 1; draw(); });
    await draw();
  }

  inflate($("report-data").textContent.trim()).then(async (data) => {
    timeline(data);
    await planList(data);
    document.documentElement.dataset.ready = "true";
  }).catch((err) => {
    $("report-error").textContent = "The report could not be drawn: " + err;
    document.documentElement.dataset.ready = "error";
    console.error(err);
  });
})();
"""
