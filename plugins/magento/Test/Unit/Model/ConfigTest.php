<?php

declare(strict_types=1);

namespace Tryon\TryOn\Test\Unit\Model;

use Magento\Framework\App\Config\ScopeConfigInterface;
use Magento\Framework\DataObject;
use Magento\Store\Model\StoreManagerInterface;
use PHPUnit\Framework\TestCase;
use Tryon\TryOn\Model\Config;

class ConfigTest extends TestCase
{
    public const HASH = 'sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC';

    /** @param array<string, string> $values */
    public static function config(array $values, string $baseUrl = 'https://shop.example/'): Config
    {
        $scope = new class ($values) implements ScopeConfigInterface {
            /** @param array<string, string> $values */
            public function __construct(private array $values)
            {
            }

            public function getValue($path, $scopeType = 'default', $scopeCode = null)
            {
                return $this->values[$path] ?? null;
            }
        };
        $stores = new class ($baseUrl) implements StoreManagerInterface {
            public function __construct(private string $url)
            {
            }

            public function getStore($storeId = null)
            {
                return new DataObject(['base_url' => $this->url]);
            }
        };
        return new Config($scope, $stores);
    }

    /** @return array<string, string> */
    public static function ready(): array
    {
        return [
            'tryon/general/enabled' => '1',
            'tryon/general/publishable_key' => 'pk_live_0123456789abcdef',
            'tryon/general/api_base' => 'https://api.tryon.example/',
            'tryon/general/sdk_url' => 'https://api.tryon.example/sdk/v1.4.2/tryon.js',
            'tryon/general/sdk_integrity' => self::HASH,
            'tryon/orders/post_orders' => '1',
        ];
    }

    public function testReadyOnlyWithAKeyAndAPinnedSdk(): void
    {
        $this->assertTrue(self::config(self::ready())->isReady());
        $this->assertSame('https://api.tryon.example', self::config(self::ready())->apiBase());
        foreach (
            [
                ['tryon/general/enabled' => '0'],
                ['tryon/general/publishable_key' => 'sk_live_0123456789abcdef'],
                ['tryon/general/publishable_key' => 'pk_"><script>'],
                ['tryon/general/sdk_url' => 'javascript:alert(1)'],
                ['tryon/general/sdk_url' => '//evil.example/x.js'],
                ['tryon/general/sdk_integrity' => 'sha256-abc'],
                ['tryon/general/sdk_integrity' => ''],
            ] as $change
        ) {
            $this->assertFalse(self::config(array_merge(self::ready(), $change))->isReady(), json_encode($change));
        }
    }

    public function testTheShopIsTheSecureBaseUrlsHost(): void
    {
        $this->assertSame('shop.example', self::config([])->shop());
        $this->assertSame('shop.example', self::config([], 'https://Shop.Example:443/store/')->shop());
        $this->assertSame('shop.example:8443', self::config([], 'https://shop.example:8443/')->shop());
    }

    public function testOrdersArePostedOnlyWithAGateway(): void
    {
        $this->assertTrue(self::config(self::ready())->postOrders());
        $noGateway = array_merge(self::ready(), ["tryon/general/api_base" => "ftp://x"]);
        $this->assertFalse(self::config($noGateway)->postOrders());
        $this->assertFalse(self::config(array_merge(self::ready(), ['tryon/orders/post_orders' => '0']))->postOrders());
    }
}
