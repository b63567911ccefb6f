/*
 * The product page's try-on script (loaded after the SDK, deferred). It
 *  - keeps data-tryon-variant on the simple product the shopper picked: Magento's
 *    configurable and swatch scripts write its id into the add-to-cart form's
 *    selected_configurable_option input; the SDK's button follows the attribute;
 *  - after a try-on, puts the try-on session on the add-to-cart form as the hidden field
 *    "tryon_session": the module's CartAddObserver keeps it on the quote item, and the order
 *    item carries it to the gateway;
 *  - when the shopper adds to cart from the widget, submits that same form (Magento checks
 *    the chosen options itself);
 *  - when the shopper adds with the page's own button, reports the add with
 *    TryOn.addedToCart (it counts in a holdout experiment, in either arm) and puts the widget
 *    session it answers on the form as "tryon_widget_session" (kept like "tryon_session", so a
 *    held-out shopper's order joins). A widget add carries the event's widget session instead.
 */
(function () {
  "use strict";
  if (window.__tryonMagento) return;
  window.__tryonMagento = true;

  var FIELD = "tryon_session";
  var WIDGET_FIELD = "tryon_widget_session";
  var fromWidget = false;
  var tryon = (window.TryOn = window.TryOn || { _q: [] });
  if (!tryon.version && !tryon.on) {
    tryon.on = function () {
      tryon._q.push(["on", [].slice.call(arguments)]);
    };
  }

  function block() {
    return document.querySelector("[data-tryon-block]");
  }

  function form() {
    return document.getElementById("product_addtocart_form");
  }

  function follow() {
    var b = block();
    var f = form();
    if (!b || !f) return;
    var input = f.querySelector('input[name="selected_configurable_option"]');
    var ids = (b.getAttribute("data-tryon-variants") || "").split(",");
    var picked = input ? String(input.value || "") : "";
    var next = ids.indexOf(picked) >= 0 ? picked : "";
    if (b.getAttribute("data-tryon-variant") !== next) b.setAttribute("data-tryon-variant", next);
  }

  function putField(name, value) {
    var f = form();
    if (!f || !value) return;
    var input = f.querySelector('input[name="' + name + '"]');
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      f.appendChild(input);
    }
    input.value = String(value);
  }

  function putSession(sessionId) {
    putField(FIELD, sessionId);
  }

  function ours(e) {
    var b = block();
    return b && e && String(e.productId) === b.getAttribute("data-tryon-product");
  }

  tryon.on("result", function (e) {
    if (ours(e)) putSession(e.tryonSessionId);
  });

  tryon.on("add_to_cart", function (e) {
    if (!ours(e)) return;
    putSession(e.tryonSessionId);
    putField(WIDGET_FIELD, e.widgetSessionId);
    var f = form();
    if (!f || !f.requestSubmit) return;
    fromWidget = true; // the SDK reported this add itself
    try {
      f.requestSubmit();
    } finally {
      fromWidget = false;
    }
  });

  // The page's own "Add to cart" (capture: before Magento's script serializes the form).
  document.addEventListener(
    "submit",
    function (e) {
      var b = block();
      var f = form();
      if (fromWidget || !b || !f || e.target !== f) return;
      var sdk = window.TryOn;
      if (!sdk || typeof sdk.addedToCart !== "function") return;
      var qty = f.querySelector('input[name="qty"]');
      putField(
        WIDGET_FIELD,
        sdk.addedToCart({
          productId: b.getAttribute("data-tryon-product"),
          variantId: b.getAttribute("data-tryon-variant") || null,
          quantity: (qty && Number(qty.value)) || 1,
        })
      );
    },
    true
  );

  ["change", "input", "click"].forEach(function (type) {
    document.addEventListener(type, function () {
      window.setTimeout(follow, 0);
    });
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", follow);
  else follow();
})();
