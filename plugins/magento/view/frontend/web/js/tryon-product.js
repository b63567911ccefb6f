/*
 * The product page's try-on script (loaded after the SDK, deferred). It
 *  - keeps data-tryon-variant on the simple product the shopper picked: Magento's
 *    configurable and swatch scripts write its id into the add-to-cart form's
 *    selected_configurable_option input; the SDK's button follows the attribute;
 *  - after a try-on, puts the try-on session on the add-to-cart form as the hidden field
 *    "tryon_session": the module's CartAddObserver keeps it on the quote item, and the order
 *    item carries it to the gateway;
 *  - when the shopper adds to cart from the widget, submits that same form (Magento checks
 *    the chosen options itself).
 */
(function () {
  "use strict";
  if (window.__tryonMagento) return;
  window.__tryonMagento = true;

  var FIELD = "tryon_session";
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

  function putSession(sessionId) {
    var f = form();
    if (!f || !sessionId) return;
    var input = f.querySelector('input[name="' + FIELD + '"]');
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = FIELD;
      f.appendChild(input);
    }
    input.value = String(sessionId);
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
    var f = form();
    if (f && f.requestSubmit) f.requestSubmit();
  });

  ["change", "input", "click"].forEach(function (type) {
    document.addEventListener(type, function () {
      window.setTimeout(follow, 0);
    });
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", follow);
  else follow();
})();
