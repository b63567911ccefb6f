// The merchant dashboard: reads /dashboard/api/summary and draws SVG charts by hand.
// Every value from the server goes into the page through textContent or SVG attributes,
// never as HTML: product ids come from shoppers' browsers.
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const REFRESH_MS = 15000;
  const SERIES = [
    ["impressions", "Impressions", "#9aa5b1"],
    ["opens", "Opens", "#5b8def"],
    ["tryons_rendered", "Try-ons", "#8b5cf6"],
    ["add_to_carts", "Add to cart", "#f59e0b"],
    ["orders", "Orders", "#10b981"],
  ];
  const STEP_NAMES = {
    impression: "Button shown",
    open: "Widget opened",
    tryon_started: "Try-on started",
    tryon_rendered: "Try-on shown",
    add_to_cart: "Added to cart",
    purchase: "Purchased",
  };
  const state = { from: null, to: null, product: null, by: "tryons", timer: null, data: null, exp: null, detect: "0.1" };

  // -- helpers ---------------------------------------------------------------------------

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  const fmt = new Intl.NumberFormat(undefined);
  function num(n) { return fmt.format(n || 0); }
  function pct(x) { return x === null || x === undefined ? "–" : (x * 100).toFixed(1) + "%"; }
  function ms(x) { return x === null || x === undefined ? "–" : Math.round(x) + " ms"; }
  function money(map) {
    const entries = Object.entries(map || {});
    if (!entries.length) return "0";
    return entries.map(([cur, amount]) => {
      try {
        return new Intl.NumberFormat(undefined, { style: "currency", currency: cur })
          .format(Number(amount));
      } catch (e) {
        return amount + " " + cur;
      }
    }).join(" + ");
  }
  function iso(d) { return d.toISOString().slice(0, 10); }
  function daysAgo(n) { const d = new Date(); d.setUTCDate(d.getUTCDate() - n); return iso(d); }
  function niceMax(v) {
    if (v <= 0) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
    return 10 * p;
  }

  function query(extra) {
    const q = new URLSearchParams({ from: state.from, to: state.to });
    if (state.product) q.set("product", state.product);
    for (const [k, v] of Object.entries(extra || {})) q.set(k, v);
    return q.toString();
  }

  // -- charts ----------------------------------------------------------------------------

  // Charts are drawn at the width they are shown (one SVG unit = one CSS pixel) and redrawn
  // when it changes: text in a scaled-down viewBox is unreadable on a phone.
  function widthOf(host, least) { return Math.max(least, Math.floor(host.clientWidth || 0)); }

  function lineChart(host, days) {
    const W = widthOf(host, 280), H = 260, L = 44, R = 12, T = 12, B = 28;
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: "svg" });
    // Four grid steps of whole events (never "0.25" or "12.5"): a multiple of 4, at least 4.
    const max = Math.max(4, Math.ceil(niceMax(Math.max(1, ...days.flatMap((d) => SERIES.map(([k]) => d[k])))) / 4) * 4);
    const x = (i) => L + (days.length <= 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (days.length - 1));
    const y = (v) => T + (H - T - B) * (1 - v / max);
    for (let i = 0; i <= 4; i++) {
      const v = (max * i) / 4;
      root.appendChild(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }));
      root.appendChild(svg("text", { x: L - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" }, num(v)));
    }
    // A date label is about 40 px wide: at most one per 64 px so none overlap.
    const every = Math.max(1, Math.ceil(days.length / Math.max(2, Math.floor((W - L - R) / 64))));
    days.forEach((d, i) => {
      const last = i === days.length - 1;
      if (i % every === 0 ? !(i !== 0 && days.length - 1 - i < every) : last) {
        const anchor = i === 0 ? "start" : last ? "end" : "middle";
        root.appendChild(svg("text", { x: x(i), y: H - 8, class: "axis", "text-anchor": anchor }, d.day.slice(5)));
      }
    });
    for (const [key, label, color] of SERIES) {
      const points = days.map((d, i) => `${x(i).toFixed(1)},${y(d[key]).toFixed(1)}`).join(" ");
      root.appendChild(svg("polyline", { points, fill: "none", stroke: color, "stroke-width": 2.5, "stroke-linejoin": "round" }));
      days.forEach((d, i) => {
        const dot = svg("circle", { cx: x(i), cy: y(d[key]), r: days.length > 45 ? 0 : 3, fill: color });
        dot.appendChild(svg("title", {}, `${d.day} · ${label}: ${num(d[key])}`));
        root.appendChild(dot);
      });
    }
    clear(host).appendChild(root);
    const legend = clear(document.getElementById("legend"));
    for (const [, label, color] of SERIES) {
      const item = el("span", { class: "key" });
      const swatch = el("i");
      swatch.style.background = color;
      item.append(swatch, document.createTextNode(label));
      legend.appendChild(item);
    }
  }

  function hbars(host, rows, opts) {
    // rows: [{label, value, note, color}]
    const W = widthOf(host, 260), row = 30, L = Math.min(opts.labelWidth || 130, Math.floor(W * 0.45)), R = 64;
    const H = Math.max(row, rows.length * row) + 4;
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: "svg" });
    const max = Math.max(opts.max || 0, ...rows.map((r) => r.value), 1e-9);
    rows.forEach((r, i) => {
      const y = i * row + 4;
      const w = Math.max(0, ((W - L - R) * r.value) / max);
      root.appendChild(svg("text", { x: L - 8, y: y + 17, class: "label", "text-anchor": "end" }, r.label));
      root.appendChild(svg("rect", { x: L, y, width: W - L - R, height: row - 8, rx: 4, class: "track" }));
      const bar = svg("rect", { x: L, y, width: w.toFixed(1), height: row - 8, rx: 4, fill: r.color || "#8b5cf6" });
      bar.appendChild(svg("title", {}, `${r.label}: ${r.text}`));
      root.appendChild(bar);
      root.appendChild(svg("text", { x: W - R + 6, y: y + 17, class: "value" }, r.note || r.text));
    });
    clear(host).appendChild(root);
    if (!rows.length) host.appendChild(el("p", { class: "muted small" }, opts.empty || "No data yet"));
  }

  // -- panels ----------------------------------------------------------------------------

  function kpis(data) {
    const t = data.totals;
    const a = data.attribution;
    const c = data.conversion;
    const tiles = [
      ["Impressions", num(t.impressions)],
      ["Widget opens", num(t.opens), pct(t.impressions ? t.opens / t.impressions : null) + " of impressions"],
      ["Try-ons", num(t.tryons_rendered), t.tryons_failed ? num(t.tryons_failed) + " failed" : ""],
      ["Add to cart", num(t.add_to_carts)],
      ["Orders", num(t.orders), money(t.revenue)],
      ["After try-on", money(a.attributed_revenue), num(a.attributed_orders) + " of " + num(a.orders) + " orders"],
      ["Try-on vs none", c.purchase_lift ? c.purchase_lift.toFixed(2) + "×" : "–", "purchase rate, observational, not causal"],
    ];
    const host = clear(document.getElementById("kpis"));
    for (const [label, value, note] of tiles) {
      const tile = el("div", { class: "kpi" });
      tile.append(el("span", { class: "kpi-label" }, label), el("strong", {}, value));
      if (note) tile.appendChild(el("span", { class: "kpi-note" }, note));
      host.appendChild(tile);
    }
  }

  function funnel(data) {
    const rows = data.funnel.map((s, i) => ({
      label: STEP_NAMES[s.step] || s.step,
      value: s.events,
      text: `${num(s.events)} events, ${num(s.sessions)} sessions`,
      note: num(s.sessions),
      color: ["#9aa5b1", "#5b8def", "#7c6cf0", "#8b5cf6", "#f59e0b", "#10b981"][i],
    }));
    hbars(document.getElementById("funnel"), rows, {});
  }

  function conversion(data) {
    const c = data.conversion;
    const rows = [];
    for (const [key, label, color] of [["with_tryon", "With try-on", "#8b5cf6"], ["without_tryon", "Without", "#9aa5b1"]]) {
      const g = c[key];
      rows.push({ label: `${label}: cart`, value: g.add_to_cart_rate || 0, text: pct(g.add_to_cart_rate) + ` of ${num(g.sessions)}`, note: pct(g.add_to_cart_rate), color });
      rows.push({ label: `${label}: bought`, value: g.purchase_rate || 0, text: pct(g.purchase_rate) + ` of ${num(g.sessions)}`, note: pct(g.purchase_rate), color });
    }
    hbars(document.getElementById("conversion"), rows, { labelWidth: 150 });
    document.getElementById("lift").textContent = c.purchase_lift
      ? `Shoppers who tried products on bought ${c.purchase_lift.toFixed(2)}× as often (${num(c.with_tryon.sessions)} vs ${num(c.without_tryon.sessions)} sessions).`
      : `${num(c.with_tryon.sessions)} sessions with try-on, ${num(c.without_tryon.sessions)} without.`;
  }

  function products(data) {
    const body = clear(document.getElementById("products"));
    if (!data.products.length) {
      const tr = el("tr");
      tr.appendChild(el("td", { colspan: "5", class: "muted" }, "No try-ons in this range yet"));
      body.appendChild(tr);
    }
    for (const p of data.products) {
      const tr = el("tr", { tabindex: "0", role: "button", "aria-label": "Show " + (p.title || p.product_id) });
      const name = el("td");
      name.appendChild(el("span", { class: "pname" }, p.title || p.product_id));
      if (p.title) name.appendChild(el("span", { class: "muted small pid" }, p.product_id));
      if (p.category) name.appendChild(el("span", { class: "tag" }, p.category));
      tr.append(
        name,
        el("td", {}, num(p.tryons_rendered)),
        el("td", {}, num(p.add_to_carts)),
        el("td", {}, num(p.orders)),
        el("td", {}, p.tryon_sessions ? `${pct(p.tryon_conversion)} (${p.converted_tryon_sessions}/${p.tryon_sessions})` : "–"),
      );
      const open = () => { state.product = p.product_id; state.title = p.title; load(); };
      tr.addEventListener("click", open);
      tr.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(); } });
      body.appendChild(tr);
    }
    for (const b of document.querySelectorAll(".toggle button")) {
      b.setAttribute("aria-pressed", String(b.dataset.by === data.products_by));
    }
  }

  /** The preset button of the range shown is pressed; a custom range presses none. */
  function presets() {
    for (const b of document.querySelectorAll(".presets button")) {
      const days = Number(b.dataset.days);
      b.setAttribute("aria-pressed", String(state.to === daysAgo(0) && state.from === daysAgo(days - 1)));
    }
  }

  function latency(data) {
    const l = data.latency;
    const rows = Object.entries(l.percentiles_ms).map(([p, v]) => ({
      label: p, value: v || 0, text: ms(v), note: ms(v), color: "#5b8def",
    }));
    hbars(document.getElementById("latency"), l.count ? rows : [], { labelWidth: 60, empty: "No rendered try-ons yet" });
  }

  function sizes(data) {
    const rows = data.sizes.slice(0, 8).map((s) => ({
      label: s.size, value: s.recommended, text: `${num(s.recommended)} recommended, ${num(s.added_to_cart)} added`,
      note: num(s.recommended), color: "#10b981",
    }));
    hbars(document.getElementById("sizes"), rows, { labelWidth: 60, empty: "No size recommendations yet" });
  }

  // -- the holdout experiment -------------------------------------------------------------

  function signed(x, digits) {
    if (x === null || x === undefined) return "–";
    return (x > 0 ? "+" : x < 0 ? "−" : "") + Math.abs(x * 100).toFixed(digits === undefined ? 1 : digits) + "%";
  }
  function points(x) {
    if (x === null || x === undefined) return "–";
    return (x > 0 ? "+" : x < 0 ? "−" : "") + Math.abs(x * 100).toFixed(2) + " pts";
  }
  function amount(x, cur) {
    if (x === null || x === undefined) return "–";
    try { return new Intl.NumberFormat(undefined, { style: "currency", currency: cur }).format(x); } catch (e) { return x.toFixed(2) + " " + cur; }
  }
  function interval(i, f) { return i.low === null || i.high === null ? "no interval yet" : `95% interval ${f(i.low)} to ${f(i.high)}`; }

  /** The headline: the measured uplift when a holdout has enough data, else nothing (the
   * observational tiles stay, labelled as not causal). */
  function headline(exp) {
    const box = document.getElementById("headline");
    if (!exp || !exp.experiment) { box.hidden = true; return; }
    box.hidden = false;
    const rel = exp.purchase_rate.uplift_relative;
    const t = exp.purchase_rate.treatment.estimate, h = exp.purchase_rate.holdout.estimate;
    const needed = `${num(exp.eligible_shoppers)} of ${num(exp.needed_shoppers)} shoppers`;
    const enough = exp.status === "ready";
    if (rel.estimate === null) {
      document.getElementById("headline-value").textContent = `Measuring: ${needed}`;
      document.getElementById("headline-note").textContent = "No purchases in both groups yet; keep the holdout running.";
      return;
    }
    document.getElementById("headline-value").textContent = `${signed(rel.estimate)} purchases (${interval(rel, signed)})`;
    const groups = `Shoppers offered try-on bought ${pct(t)} of the time, those held out ${pct(h)}`;
    document.getElementById("headline-note").textContent = !enough
      ? `${groups}. An early figure: ${needed} needed to detect a ${Math.round(exp.detect_uplift * 100)}% uplift reliably; keep the holdout running.`
      : exp.purchase_rate.significant
        ? `${groups}: try-on itself made the difference, and with 95% confidence it lies in this interval.`
        : `${groups}; the interval still includes no effect, so try-on's effect is smaller than this test can see.`;
  }

  function experimentPanel(exp) {
    const running = exp && exp.experiment && !exp.experiment.ended_at;
    const share = document.getElementById("holdout-share");
    if (document.activeElement !== share) share.value = running ? String(Math.round(exp.experiment.holdout_share * 100)) : "0";
    const status = document.getElementById("experiment-status");
    const table = document.getElementById("experiment-table");
    const list = clear(document.getElementById("experiment-uplifts"));
    const srm = document.getElementById("experiment-srm");
    if (!exp || !exp.experiment) {
      status.textContent = "No holdout yet. Hold out 5-20% of shoppers to measure what try-on adds to sales.";
      table.hidden = true; srm.hidden = true;
      return;
    }
    const since = exp.experiment.started_at.slice(0, 10);
    status.textContent = (running ? `Running since ${since}, ` : `Ended ${exp.experiment.ended_at.slice(0, 10)}, `) +
      `${Math.round(exp.experiment.holdout_share * 100)}% held out · ` +
      (exp.status === "ready" ? "enough shoppers to read the result." : `not enough data yet: ${num(exp.eligible_shoppers)} of ${num(exp.needed_shoppers)} shoppers needed.`);
    srm.hidden = !exp.sample_ratio.mismatch;
    srm.textContent = exp.sample_ratio.mismatch
      ? `Warning: ${pct(exp.sample_ratio.observed_holdout_share)} of shoppers are in the holdout instead of ${pct(exp.sample_ratio.expected_holdout_share)} (p = ${exp.sample_ratio.p_value.toExponential(1)}). Something skews the split (a cache, a bot, an old script): do not trust these figures until it is fixed.`
      : "";
    table.hidden = false;
    const body = clear(document.getElementById("experiment-arms"));
    const revenue = exp.revenue_per_shopper[0];
    for (const [arm, label] of [["treatment", "Offered try-on"], ["holdout", "Held out"]]) {
      const a = exp.arms[arm];
      const tr = el("tr");
      tr.append(
        el("th", { scope: "row" }, label),
        el("td", {}, num(a.eligible_shoppers)),
        el("td", {}, pct(exp.add_to_cart_rate[arm].estimate)),
        el("td", {}, pct(exp.purchase_rate[arm].estimate)),
        el("td", {}, revenue ? amount(revenue[arm + "_per_shopper"], revenue.currency) : "–"),
      );
      body.appendChild(tr);
    }
    const p = exp.purchase_rate, c = exp.add_to_cart_rate;
    list.append(
      el("li", {}, `Purchase rate: ${points(p.uplift_absolute.estimate)} (${interval(p.uplift_absolute, points)}), ${signed(p.uplift_relative.estimate)} relative (${interval(p.uplift_relative, signed)})`),
      el("li", {}, `Add-to-cart rate: ${points(c.uplift_absolute.estimate)} (${interval(c.uplift_absolute, points)})`),
    );
    for (const r of exp.revenue_per_shopper) {
      const f = (x) => (x > 0 ? "+" : "") + amount(x, r.currency);
      list.append(el("li", {}, `Revenue per shopper (${r.currency}): ${f(r.uplift_absolute.estimate)} (${interval(r.uplift_absolute, f)})`));
    }
    list.append(el("li", { class: "muted small" }, "Every shopper counts in their group, whether they tried on or not. An interval that stays above zero means try-on raised the figure."));
  }

  async function saveHoldout(e) {
    e.preventDefault();
    const saved = document.getElementById("holdout-saved");
    const share = Number(document.getElementById("holdout-share").value) / 100;
    try {
      const response = await fetch("/dashboard/api/holdout", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify({ holdout_share: share }),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(body.detail || body.title || response.statusText);
      saved.textContent = body.current ? "Saved: a new period started" : "Saved: holdout off";
      load();
    } catch (err) {
      saved.textContent = "Not saved: " + err.message;
    }
  }

  async function loadExperiment() {
    const q = new URLSearchParams({ detect_uplift: state.detect });
    const response = await fetch("/dashboard/api/experiment?" + q.toString(), { credentials: "same-origin" });
    if (!response.ok) throw new Error("experiment: " + response.statusText);
    return response.json();
  }

  // -- loading ---------------------------------------------------------------------------

  async function load() {
    clearTimeout(state.timer);
    const seq = (state.seq = (state.seq || 0) + 1); // a later load wins over one still in flight
    const error = document.getElementById("error");
    try {
      const response = await fetch("/dashboard/api/summary?" + query({ by: state.by }), { credentials: "same-origin" });
      if (response.status === 401) { window.location.assign("/dashboard"); return; }
      if (!response.ok) {
        const problem = await response.json().catch(() => ({}));
        throw new Error(problem.detail || problem.title || response.statusText);
      }
      const data = await response.json();
      const exp = await loadExperiment();
      if (seq !== state.seq) return;
      state.exp = exp;
      error.hidden = true;
      render(data);
    } catch (e) {
      error.textContent = "Could not load the numbers: " + e.message;
      error.hidden = false;
    }
    state.timer = setTimeout(load, REFRESH_MS);
  }

  function render(data) {
    state.data = data;
    presets();
    document.getElementById("merchant").textContent = data.merchant.name;
    const drill = document.getElementById("drill");
    drill.hidden = !state.product;
    document.getElementById("drill-name").textContent = data.product_title || state.product || "";
    kpis(data);
    headline(state.exp);
    experimentPanel(state.exp);
    lineChart(document.getElementById("daily"), data.daily);
    funnel(data);
    conversion(data);
    products(data);
    latency(data);
    sizes(data);
    for (const report of ["daily", "products", "sizes"]) {
      document.getElementById("csv-" + report).href = "/dashboard/api/export.csv?" + query({ report });
    }
    document.getElementById("updated").textContent = "Updated " + new Date().toLocaleTimeString() + " · refreshes every 15 s";
  }

  function setRange(from, to) {
    state.from = from; state.to = to;
    document.getElementById("from").value = from;
    document.getElementById("to").value = to;
  }

  document.addEventListener("DOMContentLoaded", () => {
    setRange(daysAgo(29), daysAgo(0));
    document.getElementById("range").addEventListener("submit", (e) => {
      e.preventDefault();
      setRange(document.getElementById("from").value, document.getElementById("to").value);
      load();
    });
    for (const b of document.querySelectorAll(".presets button")) {
      b.addEventListener("click", () => { setRange(daysAgo(Number(b.dataset.days) - 1), daysAgo(0)); load(); });
    }
    for (const b of document.querySelectorAll(".toggle button")) {
      b.addEventListener("click", () => { state.by = b.dataset.by; load(); });
    }
    document.getElementById("holdout").addEventListener("submit", saveHoldout);
    document.getElementById("detect").addEventListener("change", (e) => { state.detect = e.target.value; load(); });
    document.getElementById("drill-clear").addEventListener("click", () => { state.product = null; load(); });
    let resized = null;
    window.addEventListener("resize", () => {
      clearTimeout(resized);
      resized = setTimeout(() => { if (state.data) render(state.data); }, 150);
    });
    presets();
    load();
  });
})();
