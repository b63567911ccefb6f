<?php

/**
 * WordPress's constants for the tests and the e2e site: Debian's WordPress, the database named
 * by TRYON_WP_DB_NAME on the local MariaDB, the content folder TRYON_WP_CONTENT (holding the
 * plugin and the WooCommerce TEST STUB as plugins). Included before wp-settings.php.
 */

// phpcs:disable PSR1.Files.SideEffects

$tryonEnv = static fn (string $name, string $default): string => getenv($name) ?: $default;

define('ABSPATH', rtrim($tryonEnv('TRYON_WP_DIR', '/usr/share/wordpress'), '/') . '/');
define('DB_NAME', $tryonEnv('TRYON_WP_DB_NAME', ''));
define('DB_USER', $tryonEnv('TRYON_WP_DB_USER', 'root'));
define('DB_PASSWORD', $tryonEnv('TRYON_WP_DB_PASSWORD', ''));
define('DB_HOST', $tryonEnv('TRYON_WP_DB_HOST', '127.0.0.1'));
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
define('WP_CONTENT_DIR', $tryonEnv('TRYON_WP_CONTENT', ''));
define('WP_PLUGIN_DIR', WP_CONTENT_DIR . '/plugins');
define('WP_DEBUG', false);
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
// Per-site salts: the e2e server's requests must agree, so they come from the database name.
$tryonSalts = ['AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY'];
$tryonSalts = [...$tryonSalts, 'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT'];
foreach ($tryonSalts as $tryonSalt) {
    define($tryonSalt, hash('sha256', $tryonSalt . DB_NAME . $tryonEnv('TRYON_WP_SALT', '')));
}
// WordPress 6.1 predates PHP 8.2's deprecations of its own code; ours runs under E_ALL.
error_reporting(E_ALL & ~E_DEPRECATED);
$table_prefix = 'wp_';
