/*
 * The "Try it on" app block's script (Shopify loads it once per page, deferred; theme-check
 * keeps it under the 10 KB app block limit). For each block it:
 *  - keeps data-tryon-variant on the variant the shopper picked (the product form's `id`
 *    input, else the `variant` URL parameter); the SDK's button follows the attribute;
 *  - after a try-on of the block's product, puts the try-on session on the product form as the
 *    hidden line item property `properties[_tryon_session]`, so the theme's own "Add to cart"
 *    carries it into the order;
 *  - when the shopper adds to cart from the widget, adds the line with that property through
 *    /cart/add.js and writes the widget session as the cart attribute `_tryon_widget_session`
 *    through /cart/update.js (docs/attribution.md);
 *  - when the shopper adds with the theme's own button, reports the add with
 *    TryOn.addedToCart (it counts in a holdout experiment, in either arm) and writes the widget
 *    session it answers as that same cart attribute.
 */
(function () {
  "use strict";
  if (window.__tryonBlock) return;
  window.__tryonBlock = true;

  var PROPERTY = "properties[_tryon_session]";
  var KEPT = "tryon:widget-session";
  var root = (window.Shopify && window.Shopify.routes && window.Shopify.routes.root) || "/";

  // The SDK may load after this script: queue the calls as its snippet does (it replays them).
  var tryon = (window.TryOn = window.TryOn || { _q: [] });
  if (!tryon.version && !tryon.on) {
    tryon.on = function () {
      tryon._q.push(["on", [].slice.call(arguments)]);
    };
  }

  function blocks() {
    return [].slice.call(document.querySelectorAll("[data-tryon-block]"));
  }

  function variantsOf(block) {
    return (block.getAttribute("data-tryon-variants") || "").split(",");
  }

  /** The product form this block belongs to: in its section first, else anywhere on the page. */
  function formOf(block) {
    var ids = variantsOf(block);
    var section = block.closest(".shopify-section") || document;
    var scopes = [section, document];
    for (var s = 0; s < scopes.length; s++) {
      var forms = scopes[s].querySelectorAll('form[action*="/cart/add"]');
      for (var i = 0; i < forms.length; i++) {
        var input = forms[i].querySelector('[name="id"]');
        if (input && ids.indexOf(String(input.value)) >= 0) return forms[i];
      }
    }
    return null;
  }

  function follow(block) {
    var ids = variantsOf(block);
    var form = formOf(block);
    var input = form && form.querySelector('[name="id"]');
    var picked = input ? String(input.value) : "";
    if (ids.indexOf(picked) < 0) picked = new URLSearchParams(window.location.search).get("variant") || "";
    if (ids.indexOf(picked) >= 0 && block.getAttribute("data-tryon-variant") !== picked) {
      block.setAttribute("data-tryon-variant", picked);
    }
  }

  function followAll() {
    blocks().forEach(follow);
  }

  function blockFor(productId) {
    var found = blocks().filter(function (b) {
      return b.getAttribute("data-tryon-product") === String(productId);
    });
    return found[0] || null;
  }

  function putSession(block, sessionId) {
    var form = formOf(block);
    if (!form || !sessionId) return;
    var input = form.querySelector('input[name="' + PROPERTY + '"]');
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = PROPERTY;
      form.appendChild(input);
    }
    input.value = String(sessionId);
  }

  function post(path, body) {
    return fetch(root + path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    }).then(function (response) {
      if (!response.ok) throw new Error(path + " " + response.status);
      return response.json();
    });
  }

  function keepWidgetSession(id) {
    try {
      window.sessionStorage.setItem(KEPT, id);
    } catch (e) {
      // storage off: the attribute is still written below
    }
    return post("cart/update.js", { attributes: { _tryon_widget_session: id } });
  }

  function status(block, text) {
    var note = block.querySelector(".tryon-block__status");
    if (!note) {
      note = document.createElement("p");
      note.className = "tryon-block__status";
      note.setAttribute("role", "status");
      block.appendChild(note);
    }
    note.textContent = text;
  }

  tryon.on("result", function (e) {
    var block = e && blockFor(e.productId);
    if (block) putSession(block, e.tryonSessionId);
  });

  tryon.on("add_to_cart", function (e) {
    var block = e && blockFor(e.productId);
    if (!block) return;
    var variant = e.variantId || block.getAttribute("data-tryon-variant");
    var properties = e.tryonSessionId ? { _tryon_session: String(e.tryonSessionId) } : {};
    putSession(block, e.tryonSessionId);
    post("cart/add.js", { items: [{ id: Number(variant), quantity: 1, properties: properties }] })
      .then(function (added) {
        document.dispatchEvent(new CustomEvent("tryon:cart-added", { detail: added }));
        return e.widgetSessionId ? keepWidgetSession(String(e.widgetSessionId)) : null;
      })
      .catch(function () {
        status(block, block.getAttribute("data-tryon-cart-failed") || "");
      });
  });

  /** The page's own add of a block's product: the SDK's answer (its widget session), or null. */
  function reportAdd(form) {
    var sdk = window.TryOn;
    var input = form.querySelector('[name="id"]');
    var variant = input ? String(input.value) : "";
    var block = blocks().filter(function (b) {
      return variantsOf(b).indexOf(variant) >= 0;
    })[0];
    if (!block || !sdk || typeof sdk.addedToCart !== "function") return null;
    var quantity = form.querySelector('[name="quantity"]');
    return sdk.addedToCart({
      productId: block.getAttribute("data-tryon-product"),
      variantId: variant,
      quantity: (quantity && Number(quantity.value)) || 1,
    });
  }

  // The theme's own "Add to cart": report it, and keep the widget session (the SDK's answer,
  // else the one of an earlier add from the widget) as the cart attribute.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var kept = null;
    if (!form || !form.matches || !form.matches('form[action*="/cart/add"]')) return;
    try {
      kept = reportAdd(form) || window.sessionStorage.getItem(KEPT);
    } catch (err) {
      kept = null;
    }
    if (kept) {
      fetch(root + "cart/update.js", {
        method: "POST",
        keepalive: true,
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ attributes: { _tryon_widget_session: String(kept) } }),
      }).catch(function () {});
    }
  }, true);

  // Themes change the variant through the form (change events on selects and radios, or a
  // new value on the hidden `id` input), custom events, or the URL (back/forward).
  function later() {
    window.setTimeout(followAll, 0);
  }
  ["change", "input", "variant:change", "variant:changed"].forEach(function (type) {
    document.addEventListener(type, later);
  });
  window.addEventListener("popstate", later);
  new MutationObserver(later).observe(document.documentElement, {
    subtree: true,
    attributes: true,
    attributeFilter: ["value"],
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", followAll);
  else followAll();
})();
