/*
 * Keeps the try-on placeholder on the variation the shopper picks (WooCommerce's variation
 * form fires `found_variation` / `reset_data` through jQuery), and after a try-on of this
 * product writes the try-on session into a hidden `tryon_session` field of the add-to-cart
 * form, which the plugin keeps as cart item data and then as the order item's
 * `_tryon_session` meta. When the shopper adds with the page's own button it reports the add
 * with `TryOn.addedToCart` (it counts in a holdout experiment, in either arm) and posts the
 * widget session it answers in a hidden `tryon_widget_session` field, kept the same way as
 * the order item's `_tryon_widget_session` meta.
 */
(function ($) {
  "use strict";
  var box = document.querySelector("[data-tryon-product]");
  if (!box) return;
  var form = document.querySelector("form.cart");

  function hidden(name) {
    if (!form) return null;
    var input = form.querySelector('input[name="' + name + '"]');
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
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
    var input = hidden("tryon_session");
    if (input) input.value = e.tryonSessionId;
  });

  // The page's own "Add to cart": report it and keep the widget session it answers.
  if (form) {
    form.addEventListener("submit", function () {
      var sdk = window.TryOn;
      if (!sdk || typeof sdk.addedToCart !== "function") return;
      var variation = form.querySelector('input[name="variation_id"]');
      var quantity = form.querySelector('input[name="quantity"]');
      var session = sdk.addedToCart({
        productId: box.getAttribute("data-tryon-product"),
        variantId: (variation && variation.value) || box.getAttribute("data-tryon-variant") || null,
        quantity: (quantity && Number(quantity.value)) || 1,
      });
      var input = session && hidden("tryon_widget_session");
      if (input) input.value = String(session);
    });
  }
})(window.jQuery);
