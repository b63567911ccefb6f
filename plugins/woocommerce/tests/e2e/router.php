<?php

/**
 * The e2e site's front controller for PHP's built-in server (`php -S 127.0.0.1:0 -t DOCROOT
 * router.php`): files that exist under DOCROOT (WordPress's wp-includes, the content folder's
 * plugin assets) are served as they are; every other request boots WordPress as
 * wp-blog-header.php does, with the site's address taken from the request's Host.
 */

// phpcs:disable PSR1.Files.SideEffects

$path = (string) parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH);
if ($path !== '/' && !str_contains($path, '..') && is_file($_SERVER['DOCUMENT_ROOT'] . $path)) {
    return false;
}
$home = 'http://' . ($_SERVER['HTTP_HOST'] ?? '127.0.0.1');
define('WP_HOME', $home);
define('WP_SITEURL', $home);
define('WP_CONTENT_URL', $home . '/wp-content');
define('WP_USE_THEMES', true);
require dirname(__DIR__) . '/wp-env.php';
require ABSPATH . 'wp-settings.php';
error_reporting(E_ALL & ~E_DEPRECATED);
wp();
require ABSPATH . WPINC . '/template-loader.php';
