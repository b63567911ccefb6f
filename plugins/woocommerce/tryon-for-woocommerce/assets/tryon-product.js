/*
 * Keeps the try-on placeholder on the variation the shopper picks (WooCommerce's variation
 * form fires `found_variation` / `reset_data` through jQuery), and after a try-on of this
 * product writes the try-on session into a hidden `tryon_session` field of the add-to-cart
 * form, which the plugin keeps as cart item data and then as the order item's
 * `_tryon_session` meta.
 */
(function ($) {
  "use strict";
  var box = document.querySelector("[data-tryon-product]");
  if (!box) return;
  var form = document.querySelector("form.cart");

  function hidden() {
    if (!form) return null;
    var input = form.querySelector('input[name="tryon_session"]');
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = "tryon_session";
      form.appendChild(input);
    }
    return input;
  }

  if ($ && form) {
    $(form).on("found_variation", function (_event, variation) {
      if (variation && variation.variation_id) box.setAttribute("data-tryon-variant", String(variation.variation_id));
    });
    $(form).on("reset_data", function () {
      var first = (box.getAttribute("data-tryon-variants") || "").split(",")[0] || "";
      box.setAttribute("data-tryon-variant", first);
    });
  }

  // The SDK may load after this script: queue the calls as its snippet does.
  var tryon = (window.TryOn = window.TryOn || { _q: [] });
  if (!tryon.version && !tryon.on) {
    tryon.on = function () {
      tryon._q.push(["on", [].slice.call(arguments)]);
    };
  }
  tryon.on("result", function (e) {
    if (!e || String(e.productId) !== box.getAttribute("data-tryon-product") || !e.tryonSessionId) return;
    var input = hidden();
    if (input) input.value = e.tryonSessionId;
  });
})(window.jQuery);
