<?php

/**
 * Removes the plugin's settings when the merchant deletes the plugin (not on deactivation).
 * Orders keep their `_tryon_session` item meta: it is the merchant's sales record.
 */

if (!defined('WP_UNINSTALL_PLUGIN')) {
    exit;
}

delete_option('woocommerce_tryon_settings');
