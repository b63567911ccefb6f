// The demo store's own script (a static file: the page's CSP allows no inline script).
// It keeps the widget's variant in step with the page's picker, and answers the widget's
// add_to_cart event the way the SDK's contract asks (docs/sdk.md): it posts the line to the
// cart with the try-on and widget session ids (a line item property and a cart attribute:
// docs/attribution.md) and returns whether the cart took it, so the widget says "Added" only
// when it is true. Every page with a try-on button does this, the product list included.
(function () {
  "use strict";
  var form = document.getElementById("cart-form");
  var select = form ? form.querySelector("select[name=variant]") : null;
  var image = document.getElementById("product-image");
  var mount = document.getElementById("tryon");
  var counter = document.querySelector(".cart-link");

  function showVariant(id) {
    if (!select) return;
    var option = select.querySelector('option[value="' + CSS.escape(id) + '"]');
    if (!option) return;
    select.value = id;
    if (mount) mount.setAttribute("data-tryon-variant", id);
    if (image && option.dataset.image) image.src = option.dataset.image;
  }

  if (select) {
    select.addEventListener("change", function () {
      showVariant(select.value);
    });
  }

  function addToCart(event) {
    var body = new URLSearchParams({
      product: event.productId,
      variant: event.variantId || "",
      tryon_session: event.tryonSessionId || "",
      widget_session: event.widgetSessionId || "",
    });
    return fetch("/demo/cart", {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) return false;
        return response.json().then(function (cart) {
          if (counter) counter.textContent = "Cart (" + cart.count + ")";
          if (event.variantId) showVariant(event.variantId);
          return true;
        });
      })
      .catch(function () {
        return false;
      });
  }

  if (window.TryOn && typeof window.TryOn.on === "function") {
    window.TryOn.on("add_to_cart", addToCart);
  }

  // The page's own "Add to cart" button: report the add to the SDK (it counts in a holdout
  // experiment, in either arm) and keep the widget session it answers as the cart attribute,
  // so the order joins to this visit.
  if (form && window.TryOn && typeof window.TryOn.addedToCart === "function") {
    form.addEventListener("submit", function () {
      var session = window.TryOn.addedToCart({
        productId: form.elements.product.value,
        variantId: select ? select.value : null,
      });
      if (session) form.elements.widget_session.value = session;
    });
  }
})();
