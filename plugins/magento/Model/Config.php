<?php

declare(strict_types=1);

namespace Tryon\TryOn\Model;

use Magento\Framework\App\Config\ScopeConfigInterface;
use Magento\Store\Model\ScopeInterface;
use Magento\Store\Model\StoreManagerInterface;

/**
 * The module's settings (etc/adminhtml/system.xml) for the current store view, checked:
 * the SDK is only loaded from an http(s) URL pinned with a sha384 integrity hash, with a
 * publishable (pk_) key.
 */
class Config
{
    private const PREFIX = 'tryon/';

    public function __construct(
        private readonly ScopeConfigInterface $scopeConfig,
        private readonly StoreManagerInterface $storeManager
    ) {
    }

    private function value(string $path): string
    {
        $value = $this->scopeConfig->getValue(self::PREFIX . $path, ScopeInterface::SCOPE_STORE);
        return is_scalar($value) ? trim((string) $value) : '';
    }

    public function isEnabled(): bool
    {
        return $this->value('general/enabled') === '1';
    }

    public function publishableKey(): string
    {
        $key = $this->value('general/publishable_key');
        return preg_match('/^pk_[A-Za-z0-9_-]{8,200}$/', $key) === 1 ? $key : '';
    }

    public function apiBase(): string
    {
        return $this->httpUrl($this->value('general/api_base'));
    }

    public function sdkUrl(): string
    {
        return $this->httpUrl($this->value('general/sdk_url'));
    }

    public function sdkIntegrity(): string
    {
        $hash = $this->value('general/sdk_integrity');
        return preg_match('#^sha384-[A-Za-z0-9+/]{64}$#', $hash) === 1 ? $hash : '';
    }

    /** Whether the button can be shown: on, with a key and a pinned SDK. */
    public function isReady(): bool
    {
        return $this->isEnabled() && $this->publishableKey() !== '' && $this->sdkUrl() !== ''
            && $this->sdkIntegrity() !== '';
    }

    public function postOrders(): bool
    {
        return $this->value('orders/post_orders') === '1' && $this->apiBase() !== '';
    }

    /** The store as the gateway names it: the secure base URL's host (and a non-default port). */
    public function shop(): string
    {
        $url = (string) $this->storeManager->getStore()->getBaseUrl('web', true);
        $host = strtolower((string) parse_url($url, PHP_URL_HOST));
        $port = parse_url($url, PHP_URL_PORT);
        $scheme = parse_url($url, PHP_URL_SCHEME);
        $default = $scheme === 'http' ? 80 : 443;
        return ($port === null || $port === false || $port === $default) ? $host : $host . ':' . $port;
    }

    private function httpUrl(string $url): string
    {
        $scheme = strtolower((string) parse_url($url, PHP_URL_SCHEME));
        return in_array($scheme, ['https', 'http'], true) && parse_url($url, PHP_URL_HOST) ? rtrim($url, '/') : '';
    }
}
