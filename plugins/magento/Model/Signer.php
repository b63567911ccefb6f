<?php

declare(strict_types=1);

namespace Tryon\TryOn\Model;

/**
 * Signs the order posts the gateway verifies (gateway/platforms/magento/signing.py).
 *
 * The signature is "v1=" and the base64 HMAC-SHA256, keyed by the integration's consumer
 * secret, of "{timestamp}.{shop}.{consumer key}.{raw body}". The vector in
 * Test/Fixtures/signature-vector.json is checked by this module's PHPUnit suite and by the
 * gateway's pytest suite.
 */
class Signer
{
    public const SHOP_HEADER = 'X-Tryon-Magento-Shop';
    public const CONSUMER_HEADER = 'X-Tryon-Magento-Consumer';
    public const TIMESTAMP_HEADER = 'X-Tryon-Magento-Timestamp';
    public const SIGNATURE_HEADER = 'X-Tryon-Magento-Signature';

    public function sign(
        string $secret,
        string $timestamp,
        string $shop,
        string $consumerKey,
        string $body
    ): string {
        $message = $timestamp . '.' . $shop . '.' . $consumerKey . '.' . $body;
        return 'v1=' . base64_encode(hash_hmac('sha256', $message, $secret, true));
    }

    /**
     * The headers of one post.
     *
     * @return array<string, string>
     */
    public function headers(
        string $secret,
        int $timestamp,
        string $shop,
        string $consumerKey,
        string $body
    ): array {
        $stamp = (string) $timestamp;
        return [
            'Content-Type' => 'application/json',
            self::SHOP_HEADER => $shop,
            self::CONSUMER_HEADER => $consumerKey,
            self::TIMESTAMP_HEADER => $stamp,
            self::SIGNATURE_HEADER => $this->sign($secret, $stamp, $shop, $consumerKey, $body),
        ];
    }
}
