<?php

/**
 * Sets up the e2e site: `php install.php GATEWAY_URL PUBLISHABLE_KEY` with TRYON_WP_DB_NAME
 * and TRYON_WP_CONTENT set: creates the database and content folder, installs WordPress,
 * activates the WooCommerce TEST STUB and the plugin, saves the plugin's settings (the SDK
 * pinned from the gateway's manifest, over HTTP as the settings page does) and makes a
 * variable product in the "Sunglasses" category. Prints {"product", "variations"} as JSON.
 * `php install.php --drop` drops the database and removes the folder.
 */

// phpcs:disable PSR1.Files.SideEffects

require dirname(__DIR__) . '/wp-site.php';

$site = ['database' => (string) getenv('TRYON_WP_DB_NAME'), 'content' => (string) getenv('TRYON_WP_CONTENT')];
if (($argv[1] ?? '') === '--drop') {
    tryon_wp_site_drop($site);
    exit(0);
}
[$gateway, $key] = [$argv[1] ?? '', $argv[2] ?? ''];
tryon_wp_site_create($site['database'], $site['content']);

define('WP_HOME', 'http://127.0.0.1');
define('WP_SITEURL', 'http://127.0.0.1');
define('WP_INSTALLING', true);
$_SERVER['HTTP_HOST'] = '127.0.0.1';
$_SERVER['REQUEST_METHOD'] = 'GET';
require dirname(__DIR__) . '/wp-env.php';
require ABSPATH . 'wp-settings.php';
error_reporting(E_ALL & ~E_DEPRECATED);
add_filter('pre_wp_mail', '__return_false');
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';
ob_start();
wp_install('Lunettes & Co', 'admin', 'admin@shop.example', true, '', 'not-a-real-password');
ob_end_clean();
activate_plugin('woocommerce/woocommerce.php');
activate_plugin('tryon-for-woocommerce/tryon-for-woocommerce.php');
do_action('init');
Tryon\WooCommerce\Plugin::boot();

update_option('woocommerce_tryon_settings', [
    'gateway_url' => $gateway,
    'publishable_key' => $key,
    'priority' => '35',
    'categories' => 'sunglasses',
]);
(new Tryon\WooCommerce\Integration())->pinSdk();
if (!Tryon\WooCommerce\Plugin::ready()) {
    fwrite(STDERR, "the plugin is not ready: the manifest did not pin the SDK\n");
    exit(1);
}

$product = wp_insert_post([
    'post_type' => 'product',
    'post_title' => 'Round frames "Lune" <b>',
    'post_status' => 'publish',
]);
$variations = [];
foreach (['Black', 'Gold'] as $colour) {
    $variations[$colour] = wp_insert_post([
        'post_type' => 'product',
        'post_title' => 'Round frames - ' . $colour,
        'post_status' => 'private',
    ]);
}
update_post_meta($product, '_stub_type', 'variable');
update_post_meta($product, '_stub_variations', implode(',', $variations));
update_post_meta($product, '_stub_variation_names', wp_json_encode(array_flip($variations)));
wp_set_object_terms($product, ['Sunglasses'], 'product_cat');
echo wp_json_encode(['product' => $product, 'variations' => $variations]), "\n";
