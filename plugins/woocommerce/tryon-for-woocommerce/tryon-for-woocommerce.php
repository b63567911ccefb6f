<?php

/**
 * Plugin Name:       Virtual Try-On for WooCommerce
 * Description:       Lets shoppers try products on with their camera or a photo, on the product page.
 * Version:           1.0.0
 * Requires at least: 6.1
 * Requires PHP:      8.1
 * Requires Plugins:  woocommerce
 * Author:            Tryon
 * License:           GPL-2.0-or-later
 * License URI:       https://www.gnu.org/licenses/gpl-2.0.html
 * Text Domain:       tryon-for-woocommerce
 * Domain Path:       /languages
 * WC requires at least: 7.0
 */

// A WordPress plugin's main file both names its constants and hooks itself in.
// phpcs:disable PSR1.Files.SideEffects

if (!defined('ABSPATH')) {
    exit;
}

define('TRYON_WC_VERSION', '1.0.0');
define('TRYON_WC_FILE', __FILE__);

require_once __DIR__ . '/includes/Plugin.php';

add_action('before_woocommerce_init', ['Tryon\\WooCommerce\\Plugin', 'declareCompatibility']);
add_action('plugins_loaded', ['Tryon\\WooCommerce\\Plugin', 'boot']);
