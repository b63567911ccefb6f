// The demo store's own script (a static file: the page's CSP allows no inline script).
// It keeps the widget's variant in step with the page's picker and turns the widget's
// add_to_cart event into a real form post carrying the try-on and widget session ids (kept
// as a line item property and a cart attribute: docs/attribution.md).
(function () {
  "use strict";
  var form = document.getElementById("cart-form");
  if (!form) return;
  var select = form.querySelector("select[name=variant]");
  var image = document.getElementById("product-image");
  var mount = document.getElementById("tryon");

  function showVariant(id) {
    var option = select.querySelector('option[value="' + CSS.escape(id) + '"]');
    if (!option) return;
    select.value = id;
    if (mount) mount.setAttribute("data-tryon-variant", id);
    if (image && option.dataset.image) image.src = option.dataset.image;
  }

  select.addEventListener("change", function () {
    showVariant(select.value);
  });

  if (window.TryOn && typeof window.TryOn.on === "function") {
    window.TryOn.on("add_to_cart", function (event) {
      if (event.variantId) showVariant(event.variantId);
      form.elements.tryon_session.value = event.tryonSessionId || "";
      form.elements.widget_session.value = event.widgetSessionId || "";
      form.submit();
    });
  }
})();
