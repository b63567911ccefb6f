// The dashboard's "Store connections" panel: each installed store, its status and its last
// catalog sync (counts, failures with reasons). Data: GET /dashboard/api/stores.
(function () {
  "use strict";
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function when(iso) { return iso ? new Date(iso).toLocaleString() : "never"; }
  function render(stores) {
    var panel = document.getElementById("stores");
    if (!panel) return;
    panel.replaceChildren();
    var head = el("div", { "class": "panel-head" });
    head.appendChild(el("h2", {}, "Store connections"));
    panel.appendChild(head);
    if (!stores.length) {
      panel.appendChild(el("p", { "class": "muted" }, "No store is connected. Install the app from your store's admin."));
      panel.hidden = false;
      return;
    }
    var table = el("table", { "class": "products" });
    var hr = el("tr");
    ["Store", "Status", "Last sync", "Products", "Assets", "Not mapped", "Failed"].forEach(function (h) {
      hr.appendChild(el("th", {}, h));
    });
    table.appendChild(el("thead")).appendChild(hr);
    var body = table.appendChild(el("tbody"));
    stores.forEach(function (s) {
      var c = s.sync.counts || {};
      var tr = el("tr");
      tr.appendChild(el("td", {}, s.platform + " · " + s.shop));
      tr.appendChild(el("td", {}, s.status));
      tr.appendChild(el("td", {}, s.sync.status + " · " + when(s.sync.finished_at)));
      tr.appendChild(el("td", {}, String((c.imported || 0) + (c.updated || 0) + (c.unchanged || 0))));
      tr.appendChild(el("td", {}, String(c.assets_prepared || 0)));
      tr.appendChild(el("td", {}, String(c.unmapped || 0)));
      tr.appendChild(el("td", {}, String(c.failed || 0)));
      body.appendChild(tr);
      (s.sync.failures || []).slice(0, 5).forEach(function (f) {
        var fr = el("tr", { "class": "muted" });
        var td = el("td", { colspan: "7" }, "↳ " + (f.title || f.external_id || "sync") + ": " + f.reason);
        fr.appendChild(td);
        body.appendChild(fr);
      });
    });
    panel.appendChild(table);
    panel.hidden = false;
  }
  function load() {
    fetch("/dashboard/api/stores", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { data: [] }; })
      .then(function (j) { render(j.data || []); })
      .catch(function () { /* the rest of the dashboard works without this panel */ });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", load);
  else load();
})();
