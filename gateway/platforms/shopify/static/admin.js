// The embedded admin page. Every API call carries a Shopify session token
// (Authorization: Bearer), as App Bridge does: shopify.idToken() when App Bridge is on the
// page, otherwise the id_token Shopify put in this page's URL. No cookies, no data in the HTML.
"use strict";
(function () {
  const API = "/platforms/shopify/admin/api";
  const params = new URLSearchParams(window.location.search);
  const $ = (id) => document.getElementById(id);
  let state = null;

  async function sessionToken() {
    if (window.shopify && typeof window.shopify.idToken === "function") {
      return window.shopify.idToken();
    }
    return params.get("id_token") || "";
  }

  function say(text, ok) {
    const box = $("message");
    box.textContent = text;
    box.className = ok ? "message ok" : "message";
    box.hidden = !text;
  }

  async function call(method, path, body) {
    const token = await sessionToken();
    const response = await fetch(API + path, {
      method,
      headers: Object.assign(
        { Authorization: "Bearer " + token, Accept: "application/json" },
        body === undefined ? {} : { "Content-Type": "application/json" }
      ),
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const detail = data.detail || data.title || "HTTP " + response.status;
      const error = new Error(
        response.status === 401 ? "Your Shopify session has expired: reload the app. (" + detail + ")" : detail
      );
      throw error;
    }
    return data;
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function select(options, value) {
    const node = el("select");
    for (const option of options) {
      const item = el("option", { value: option }, option.replace("_", " "));
      if (option === value) item.selected = true;
      node.appendChild(item);
    }
    return node;
  }

  function ruleRow(rule) {
    const row = el("tr");
    const field = select(state.fields, rule.field);
    field.setAttribute("aria-label", "Match on");
    const value = el("input", { type: "text", maxlength: "255", "aria-label": "Value" });
    value.value = rule.value;
    const category = select(state.categories, rule.category);
    category.setAttribute("aria-label", "Category");
    const remove = el("button", { type: "button", class: "link" }, "Remove");
    remove.addEventListener("click", () => row.remove());
    for (const cell of [field, value, category, remove]) row.appendChild(el("td")).appendChild(cell);
    return row;
  }

  function render(next) {
    state = next;
    $("shop").textContent = state.shop;
    const sync = state.sync;
    const badge = $("sync-status");
    badge.textContent = sync.status;
    badge.className = "badge " + sync.status;
    $("sync-time").textContent = sync.finished_at
      ? "last finished " + new Date(sync.finished_at).toLocaleString()
      : sync.started_at ? "started " + new Date(sync.started_at).toLocaleString() : "";
    const counts = $("sync-counts");
    counts.replaceChildren();
    for (const [name, count] of Object.entries(sync.counts || {})) {
      const item = el("div");
      item.appendChild(el("dt", {}, name));
      item.appendChild(el("dd", {}, String(count)));
      counts.appendChild(item);
    }
    const failures = $("sync-failures");
    failures.replaceChildren();
    for (const failure of sync.failures || []) {
      failures.appendChild(el("li", {}, (failure.title || failure.external_id) + ": " + failure.reason));
    }
    $("api-base").value = state.api_base || "";
    $("widget-key").value = state.widget_key || "";
    $("widget-enabled").checked = state.widget_enabled;
    $("widget-label").textContent = state.widget_enabled ? "On" : "Off";
    const rules = $("rules");
    rules.replaceChildren();
    for (const rule of state.rules) rules.appendChild(ruleRow(rule));
    for (const id of ["sync-card", "widget-card", "rules-card", "dashboard-card"]) $(id).hidden = false;
  }

  function readRules() {
    return Array.from($("rules").rows).map((row) => {
      const [field, value, category] = row.querySelectorAll("select, input");
      return { field: field.value, value: value.value.trim(), category: category.value };
    }).filter((rule) => rule.value);
  }

  async function run(button, action, done) {
    if (button) button.disabled = true;
    try {
      const result = await action();
      say(done || "", true);
      return result;
    } catch (error) {
      say(error.message, false);
      return null;
    } finally {
      if (button) button.disabled = false;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("sync-now").addEventListener("click", (e) =>
      run(e.target, async () => render(await call("POST", "/sync")), "Sync started."));
    $("widget-enabled").addEventListener("change", (e) =>
      run(e.target, async () => render(await call("PUT", "/widget", { enabled: e.target.checked })), "Saved."));
    $("add-rule").addEventListener("click", () =>
      $("rules").appendChild(ruleRow({ field: state.fields[0], value: "", category: state.categories[0] })));
    $("save-rules").addEventListener("click", (e) =>
      run(e.target, async () => render(await call("PUT", "/rules", { rules: readRules() })), "Mapping saved."));
    $("open-dashboard").addEventListener("click", (e) =>
      run(e.target, async () => {
        const link = await call("POST", "/dashboard-link");
        window.open(link.url, "_blank", "noopener");
      }));
    run(null, async () => render(await call("GET", "/state")));
  });
})();
