<?php

/**
 * TEST STUB, not WooCommerce: a bare single-product page with what WooCommerce's own template
 * gives a plugin: the `woocommerce_single_product_summary` action, a `form.cart` with a
 * variation picker that fires jQuery's `found_variation` / `reset_data` on the form (as
 * WooCommerce's add-to-cart-variation script does).
 */

// phpcs:disable PSR1.Files.SideEffects

global $product;
$names = json_decode((string) get_post_meta($product->get_id(), '_stub_variation_names', true), true) ?: [];
wp_enqueue_script('jquery');
?><!doctype html>
<html <?php language_attributes(); ?>>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title><?php echo esc_html($product->get_name()); ?></title>
<style>body{font:16px system-ui,sans-serif;margin:32px;max-width:720px}.summary{display:grid;gap:12px}</style>
<?php wp_head(); ?>
</head>
<body <?php body_class(); ?>>
<div class="product">
  <div class="summary entry-summary">
    <h1 class="product_title"><?php echo esc_html($product->get_name()); ?></h1>
    <p class="price">129.00 €</p>
    <form class="cart variations_form" method="post" action="">
      <label>Colour
        <select name="variation_id" id="pick-variation">
          <option value="">Choose an option</option>
          <?php foreach ($names as $id => $name) : ?>
            <option value="<?php echo esc_attr((string) $id); ?>"><?php echo esc_html($name); ?></option>
          <?php endforeach; ?>
        </select>
      </label>
      <button type="submit" class="single_add_to_cart_button">Add to cart</button>
    </form>
    <?php do_action('woocommerce_single_product_summary'); ?>
  </div>
</div>
<script>
jQuery(function ($) {
  $("#pick-variation").on("change", function () {
    var form = $("form.cart");
    if (this.value) form.trigger("found_variation", [{ variation_id: Number(this.value) }]);
    else form.trigger("reset_data");
  });
});
</script>
<?php wp_footer(); ?>
</body>
</html>
