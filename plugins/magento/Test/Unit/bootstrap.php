<?php

/**
 * PHPUnit bootstrap: the labelled framework STUBS (Stubs/), then our classes by PSR-4.
 */

declare(strict_types=1);

require __DIR__ . '/Stubs/framework.php';
require __DIR__ . '/Stubs/modules.php';

spl_autoload_register(static function (string $class): void {
    $prefix = 'Tryon\\TryOn\\';
    if (!str_starts_with($class, $prefix)) {
        return;
    }
    $file = dirname(__DIR__, 2) . '/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
    if (is_file($file)) {
        require $file;
    }
});
