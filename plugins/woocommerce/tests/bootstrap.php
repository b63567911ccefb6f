<?php

/**
 * Boots Debian's WordPress (/usr/share/wordpress) on the local MariaDB in a fresh database
 * named uniquely for this run (dropped at exit), with a content folder holding the plugin and
 * the WooCommerce TEST STUB (tests/stub/woocommerce) as plugins, and installs the site.
 *
 * Env: TRYON_WP_DIR (default /usr/share/wordpress), TRYON_WP_DB_HOST (127.0.0.1),
 * TRYON_WP_DB_USER (root), TRYON_WP_DB_PASSWORD ('').
 */

// phpcs:disable PSR1.Files.SideEffects

require __DIR__ . '/wp-site.php';

$site = tryon_wp_site_create();
putenv('TRYON_WP_DB_NAME=' . $site['database']);
putenv('TRYON_WP_CONTENT=' . $site['content']);
register_shutdown_function('tryon_wp_site_drop', $site);

define('WP_HOME', 'https://shop.example');
define('WP_SITEURL', 'https://shop.example');
define('WP_INSTALLING', true);
$_SERVER['HTTP_HOST'] = 'shop.example';
$_SERVER['SERVER_NAME'] = 'shop.example';
$_SERVER['REQUEST_METHOD'] = 'GET';

require __DIR__ . '/wp-env.php';
require ABSPATH . 'wp-settings.php';
error_reporting(E_ALL & ~E_DEPRECATED);
add_filter('pre_wp_mail', '__return_false');
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';
wp_install('Tryon test shop', 'admin', 'admin@shop.example', true, '', 'not-a-real-password');
