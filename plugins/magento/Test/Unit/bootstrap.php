<?php

/**
 * PHPUnit bootstrap: the labelled framework STUBS (Stubs/, one type per file by namespace),
 * then our classes by PSR-4.
 */

declare(strict_types=1);

require __DIR__ . '/Stubs/functions.php';

spl_autoload_register(static function (string $class): void {
    $prefix = 'Tryon\\TryOn\\';
    $root = str_starts_with($class, $prefix) ? dirname(__DIR__, 2) : __DIR__ . '/Stubs';
    $relative = str_starts_with($class, $prefix) ? substr($class, strlen($prefix)) : $class;
    $file = $root . '/' . str_replace('\\', '/', $relative) . '.php';
    if (is_file($file)) {
        require $file;
    }
});
