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

$wpDir = rtrim(getenv('TRYON_WP_DIR') ?: '/usr/share/wordpress', '/') . '/';
$host = getenv('TRYON_WP_DB_HOST') ?: '127.0.0.1';
$user = getenv('TRYON_WP_DB_USER') ?: 'root';
$password = getenv('TRYON_WP_DB_PASSWORD') ?: '';
$database = 'tryon_wp_' . getmypid() . '_' . bin2hex(random_bytes(4));

$admin = new mysqli($host, $user, $password);
$admin->query("CREATE DATABASE `$database` CHARACTER SET utf8mb4");
register_shutdown_function(static function () use ($host, $user, $password, $database): void {
    $drop = new mysqli($host, $user, $password);
    $drop->query("DROP DATABASE IF EXISTS `$database`");
});

$content = sys_get_temp_dir() . '/tryon-wp-' . $database;
mkdir($content . '/plugins', 0700, true);
symlink(dirname(__DIR__) . '/tryon-for-woocommerce', $content . '/plugins/tryon-for-woocommerce');
symlink(__DIR__ . '/stub/woocommerce', $content . '/plugins/woocommerce');
register_shutdown_function(static function () use ($content): void {
    unlink($content . '/plugins/tryon-for-woocommerce');
    unlink($content . '/plugins/woocommerce');
    rmdir($content . '/plugins');
    @rmdir($content . '/uploads');
    rmdir($content);
});

define('ABSPATH', $wpDir);
define('DB_NAME', $database);
define('DB_USER', $user);
define('DB_PASSWORD', $password);
define('DB_HOST', $host);
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
define('WP_CONTENT_DIR', $content);
define('WP_PLUGIN_DIR', $content . '/plugins');
define('WP_HOME', 'https://shop.example');
define('WP_SITEURL', 'https://shop.example');
define('WP_INSTALLING', true);
define('WP_DEBUG', false);
define('AUTH_KEY', bin2hex(random_bytes(16)));
define('SECURE_AUTH_KEY', bin2hex(random_bytes(16)));
define('LOGGED_IN_KEY', bin2hex(random_bytes(16)));
define('NONCE_KEY', bin2hex(random_bytes(16)));
define('AUTH_SALT', bin2hex(random_bytes(16)));
define('SECURE_AUTH_SALT', bin2hex(random_bytes(16)));
define('LOGGED_IN_SALT', bin2hex(random_bytes(16)));
define('NONCE_SALT', bin2hex(random_bytes(16)));
error_reporting(E_ALL & ~E_DEPRECATED);
$table_prefix = 'wp_';
$_SERVER['HTTP_HOST'] = 'shop.example';
$_SERVER['SERVER_NAME'] = 'shop.example';
$_SERVER['REQUEST_METHOD'] = 'GET';

require ABSPATH . 'wp-settings.php';
// WordPress 6.1 predates PHP 8.2's deprecations of its own code; our code runs under E_ALL.
error_reporting(E_ALL & ~E_DEPRECATED);
add_filter('pre_wp_mail', '__return_false');
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';
wp_install('Tryon test shop', 'admin', 'admin@shop.example', true, '', 'not-a-real-password');
