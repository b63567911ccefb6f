<?php

/**
 * TEST STUB, not WooCommerce: records the plugin's HPOS compatibility declaration.
 * phpcs:disable PSR1.Methods.CamelCapsMethodName
 */

namespace Automattic\WooCommerce\Utilities;

class FeaturesUtil
{
    /** @var array<int, array{string, string, bool}> */
    public static array $declared = [];

    public static function declare_compatibility(string $feature, string $file, bool $compatible = true): bool
    {
        self::$declared[] = [$feature, $file, $compatible];
        return true;
    }
}
