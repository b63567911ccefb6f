<?php

declare(strict_types=1);

namespace Tryon\TryOn\Model;

/**
 * Try-on session ids as the SDK and the gateway make them (the warehouse's SessionId:
 * 8 to 64 letters, digits, "-" and "_"; a UUID fits). Anything else is dropped.
 */
final class Session
{
    private const PATTERN = '/^[A-Za-z0-9_-]{8,64}$/';

    public static function valid(mixed $value): ?string
    {
        return is_string($value) && preg_match(self::PATTERN, $value) === 1 ? $value : null;
    }
}
