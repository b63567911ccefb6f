<?php

/**
 * A throwaway WordPress site for one test run: a uniquely named database on the local MariaDB
 * and a content folder whose plugins are this plugin and the WooCommerce TEST STUB (symlinks).
 */

// phpcs:disable PSR1.Files.SideEffects

/**
 * Names made here unless given (the e2e test names them before it starts the server).
 *
 * @return array{database: string, content: string}
 */
function tryon_wp_site_create(?string $database = null, ?string $content = null): array
{
    $database ??= 'tryon_wp_' . getmypid() . '_' . bin2hex(random_bytes(4));
    if (preg_match('/^tryon_wp_[0-9]+_[0-9a-f]{8}$/', $database) !== 1) {
        throw new InvalidArgumentException('not a test database name: ' . $database);
    }
    $server = tryon_wp_server();
    $server->query("CREATE DATABASE `$database` CHARACTER SET utf8mb4");
    $content ??= sys_get_temp_dir() . '/tryon-wp-' . $database;
    mkdir($content . '/plugins', 0700, true);
    symlink(dirname(__DIR__) . '/tryon-for-woocommerce', $content . '/plugins/tryon-for-woocommerce');
    symlink(__DIR__ . '/stub/woocommerce', $content . '/plugins/woocommerce');
    return ['database' => $database, 'content' => $content];
}

/** @param array{database: string, content: string} $site */
function tryon_wp_site_drop(array $site): void
{
    if (preg_match('/^tryon_wp_[0-9]+_[0-9a-f]{8}$/', $site['database']) === 1) {
        tryon_wp_server()->query("DROP DATABASE IF EXISTS `{$site['database']}`");
    }
    foreach (['tryon-for-woocommerce', 'woocommerce'] as $link) {
        if (is_link($site['content'] . '/plugins/' . $link)) {
            unlink($site['content'] . '/plugins/' . $link);
        }
    }
    foreach (['/plugins', '/uploads', ''] as $folder) {
        if (is_dir($site['content'] . $folder) && count(scandir($site['content'] . $folder)) === 2) {
            rmdir($site['content'] . $folder);
        }
    }
}

function tryon_wp_server(): mysqli
{
    return new mysqli(
        getenv('TRYON_WP_DB_HOST') ?: '127.0.0.1',
        getenv('TRYON_WP_DB_USER') ?: 'root',
        getenv('TRYON_WP_DB_PASSWORD') ?: ''
    );
}
