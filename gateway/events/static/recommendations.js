// The dashboard's recommendations panel: reads /dashboard/api/recommendations for the date
// range of the page's form and fills #recs (text only, no HTML from the data).
"use strict";
(function () {
  const REFRESH_MS = 15000;
  const fmt = new Intl.NumberFormat();
  let timer = null;

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  function money(map) {
    const parts = Object.entries(map || {}).map(([cur, v]) => {
      try {
        return new Intl.NumberFormat(undefined, { style: "currency", currency: cur }).format(Number(v));
      } catch (e) {
        return v + " " + cur;
      }
    });
    return parts.length ? parts.join(" + ") : "–";
  }

  function render(data) {
    document.getElementById("recs-totals").textContent =
      `${fmt.format(data.tried)} try-ons from recommendations · ${fmt.format(data.added_to_cart)} added to cart · ` +
      `${fmt.format(data.orders)} orders · ${money(data.revenue)}`;
    const body = document.getElementById("recs-products");
    while (body.firstChild) body.removeChild(body.firstChild);
    if (!data.products.length) {
      const tr = document.createElement("tr");
      const td = cell("No try-ons from recommendations in this range yet");
      td.colSpan = 6;
      td.className = "muted";
      tr.appendChild(td);
      body.appendChild(tr);
    }
    for (const p of data.products) {
      const tr = document.createElement("tr");
      const name = cell(p.title || p.product_id);
      tr.append(name, cell(fmt.format(p.tried)), cell(fmt.format(p.added_to_cart)), cell(fmt.format(p.orders)), cell(fmt.format(p.bought_units)), cell(money(p.revenue)));
      body.appendChild(tr);
    }
  }

  async function load() {
    clearTimeout(timer);
    const from = document.getElementById("from");
    const to = document.getElementById("to");
    const q = new URLSearchParams();
    if (from && from.value) q.set("from", from.value);
    if (to && to.value) q.set("to", to.value);
    try {
      const response = await fetch("/dashboard/api/recommendations?" + q.toString(), { credentials: "same-origin" });
      if (response.ok) render(await response.json());
    } catch (e) {
      // the main script shows the error banner for the page's data
    }
    timer = setTimeout(load, REFRESH_MS);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("range");
    if (form) form.addEventListener("submit", () => setTimeout(load, 0));
    for (const b of document.querySelectorAll(".presets button")) b.addEventListener("click", () => setTimeout(load, 0));
    // The main script fills the range inputs first.
    setTimeout(load, 50);
  });
})();
