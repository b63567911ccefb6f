/*
 * The BigCommerce storefront loader (registered by the app through the Scripts API: footer,
 * deferred, consent category "functional"). On a Stencil product page it:
 *  - finds the product (a `[data-tryon-product]` snippet if the theme has one, else the
 *    product form's hidden `product_id` input in `form[data-cart-item-add]`);
 *  - follows the selected variant: on option changes it asks the storefront's own
 *    `/remote/v1/product-attributes/{id}` (what Cornerstone does) for `v3_variant_id`;
 *  - asks the gateway for the shop's publishable key, reads the SDK's manifest for its
 *    exact-version URL and integrity hash, adds a `[data-tryon-product]` mount after the
 *    add-to-cart form and loads the SDK pinned by that hash;
 *  - when the shopper adds to cart from the widget, adds the line through the Storefront
 *    Cart API and answers the SDK with `{ cartToken: cart.id }`: the SDK's one `add_to_cart`
 *    event carries it as `cart_token`, which the order's `cart_id` matches
 *    (docs/attribution.md, BigCommerce);
 *  - when the shopper adds with the page's own button, reports the add with
 *    `TryOn.addedToCart({ ..., cartToken })` once the cart exists (it counts in a holdout
 *    experiment, in either arm, and the order joins on the same `cart_id`).
 */
(function () {
  "use strict";
  if (window.__tryonBigCommerce) return;
  window.__tryonBigCommerce = true;

  var me = document.currentScript;
  var src = me && me.src ? new URL(me.src) : null;
  if (!src) return;
  var store = src.searchParams.get("store") || "";
  var gateway = src.origin;

  function productForm() {
    return document.querySelector("form[data-cart-item-add]");
  }

  function productId() {
    var snippet = document.querySelector("[data-tryon-product]");
    if (snippet) return snippet.getAttribute("data-tryon-product");
    var form = productForm();
    var input = form && form.querySelector('input[name="product_id"]');
    return input && /^[0-9]+$/.test(input.value) ? input.value : null;
  }

  function mountPoint(id) {
    var found = document.querySelector("[data-tryon-product]");
    if (found) return found;
    var form = productForm();
    if (!form) return null;
    var el = document.createElement("div");
    el.className = "tryon-bigcommerce";
    el.setAttribute("data-tryon-product", id);
    form.parentNode.insertBefore(el, form.nextSibling);
    return el;
  }

  function followVariant(mount, id) {
    var form = productForm();
    if (!form) return;
    var pending = null;
    function ask() {
      var body = new FormData(form);
      body.delete("action");
      fetch("/remote/v1/product-attributes/" + encodeURIComponent(id), {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "stencil-config": "{}", "x-requested-with": "XMLHttpRequest" },
      })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (answer) {
          var variant = answer && answer.data && answer.data.v3_variant_id;
          if (variant) mount.setAttribute("data-tryon-variant", String(variant));
        })
        .catch(function () {});
    }
    form.addEventListener("change", function (e) {
      if (!e.target || !e.target.name || e.target.name.indexOf("attribute[") !== 0) return;
      window.clearTimeout(pending);
      pending = window.setTimeout(ask, 50);
    });
    ask();
  }

  function cartJson(path, options) {
    return fetch(path, Object.assign({ credentials: "same-origin" }, options || {})).then(
      function (r) {
        if (!r.ok) throw new Error(path + " " + r.status);
        return r.json();
      }
    );
  }

  function addToCart(item) {
    return cartJson("/api/storefront/carts").then(function (carts) {
      var body = JSON.stringify({ lineItems: [item] });
      var headers = { "Content-Type": "application/json" };
      if (carts && carts.length) {
        return cartJson("/api/storefront/carts/" + encodeURIComponent(carts[0].id) + "/items", {
          method: "POST", headers: headers, body: body,
        });
      }
      return cartJson("/api/storefront/carts", { method: "POST", headers: headers, body: body });
    });
  }

  /** The page's own add (the theme posts the form itself): reported with the cart's id. */
  function reportOwnAdd(form, id, mount) {
    var qty = form.querySelector('[name="qty[]"], [name="qty"]');
    var variant = mount.getAttribute("data-tryon-variant");
    var add = { productId: String(id), quantity: (qty && Number(qty.value)) || 1 };
    if (variant) add.variantId = variant;
    var tries = 0;
    function report(cart) {
      var sdk = window.TryOn;
      if (cart && cart.id) add.cartToken = String(cart.id);
      if (sdk && typeof sdk.addedToCart === "function") sdk.addedToCart(add);
    }
    // The first add creates the cart: wait for it (a few seconds at most) to name it.
    function look() {
      cartJson("/api/storefront/carts")
        .then(function (carts) { return carts && carts[0]; }, function () { return null; })
        .then(function (cart) {
          if (cart || ++tries >= 10) report(cart);
          else window.setTimeout(look, 400);
        });
    }
    window.setTimeout(look, 200);
  }

  function watchOwnButton(id, mount) {
    document.addEventListener("submit", function (e) {
      var form = e.target;
      var input = form && form.querySelector && form.querySelector('input[name="product_id"]');
      if (!input || String(input.value) !== String(id)) return;
      if (form.matches("form[data-cart-item-add]") || /cart\.php/.test(form.getAttribute("action") || "")) {
        reportOwnAdd(form, id, mount);
      }
    }, true);
  }

  function start(config, id, mount) {
    var tryon = (window.TryOn = window.TryOn || { _q: [] });
    if (!tryon.on) {
      tryon.on = function () { tryon._q.push(["on", [].slice.call(arguments)]); };
    }
    tryon.on("add_to_cart", function (e) {
      if (!e || String(e.productId) !== String(id)) return;
      var variant = e.variantId || mount.getAttribute("data-tryon-variant");
      var item = { productId: Number(id), quantity: 1 };
      if (variant) item.variantId = Number(variant);
      // The widget says "Added" only when this resolves true (the SDK's add-to-cart contract).
      return addToCart(item).then(
        function (cart) {
          if (!cart || !cart.id) return false;
          document.dispatchEvent(new CustomEvent("tryon:cart-added", { detail: cart }));
          // Accepted, naming the cart: the SDK's add_to_cart event carries it as cart_token,
          // which the order's cart_id joins on (one event, so the funnel counts one).
          return { cartToken: String(cart.id) };
        },
        function () {
          return false;
        }
      );
    });
    var script = document.createElement("script");
    script.src = config.sdk.src;
    script.integrity = config.sdk.integrity;
    script.crossOrigin = "anonymous";
    script.defer = true;
    script.setAttribute("data-publishable-key", config.key);
    script.setAttribute("data-api-base", config.api);
    document.head.appendChild(script);
  }

  function run() {
    var id = productId();
    if (!id || !/^[a-z0-9]{1,32}$/.test(store)) return;
    fetch(gateway + "/platforms/bigcommerce/storefront/config?store=" + store, { credentials: "omit" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (config) {
        if (!config || !config.enabled || !config.key || !config.manifest) return null;
        return fetch(config.manifest, { credentials: "omit" })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (manifest) {
            var file = manifest && manifest.files && manifest.files["tryon.js"];
            if (!file || !file.url || !/^sha384-/.test(file.integrity || "")) return;
            config.sdk = { src: file.url, integrity: file.integrity };
            var mount = mountPoint(id);
            if (!mount) return;
            followVariant(mount, id);
            watchOwnButton(id, mount);
            start(config, id, mount);
          });
      })
      .catch(function () {});
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
})();
