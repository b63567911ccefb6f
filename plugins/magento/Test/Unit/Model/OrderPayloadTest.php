<?php

declare(strict_types=1);

namespace Tryon\TryOn\Test\Unit\Model;

use Magento\Sales\Api\Data\OrderInterface;
use Magento\Sales\Api\Data\OrderItemInterface;
use PHPUnit\Framework\TestCase;
use Tryon\TryOn\Model\OrderPayload;

class OrderPayloadTest extends TestCase
{
    public const SESSION = '3f2b8c1d-0a4e-4b6f-9c7d-2e1f0a9b8c7d';

    /** @param array<string, mixed> $values */
    public static function item(array $values): OrderItemInterface
    {
        return new class ($values) implements OrderItemInterface {
            /** @param array<string, mixed> $v */
            public function __construct(public array $v)
            {
            }

            public function getItemId()
            {
                return $this->v['item_id'] ?? null;
            }

            public function getParentItemId()
            {
                return $this->v['parent_item_id'] ?? null;
            }

            public function getProductId()
            {
                return $this->v['product_id'] ?? null;
            }

            public function getProductType()
            {
                return $this->v['product_type'] ?? 'simple';
            }

            public function getSku()
            {
                return $this->v['sku'] ?? '';
            }

            public function getQtyOrdered()
            {
                return $this->v['qty'] ?? 1;
            }

            public function getPrice()
            {
                return $this->v['price'] ?? 0;
            }

            public function getPriceInclTax()
            {
                return $this->v['price'] ?? 0;
            }

            public function getProductOptions()
            {
                return $this->v['options'] ?? null;
            }

            public function setProductOptions(?array $productOptions = null)
            {
                $this->v['options'] = $productOptions;
                return $this;
            }

            public function getExtensionAttributes()
            {
                return $this->v['extension'] ?? null;
            }

            public function setExtensionAttributes($extensionAttributes)
            {
                $this->v['extension'] = $extensionAttributes;
                return $this;
            }
        };
    }

    /** @param list<OrderItemInterface> $items */
    public static function order(array $items, ?float $refunded = null): OrderInterface
    {
        $order = new class implements OrderInterface {
            /** @var list<OrderItemInterface> */
            public array $items = [];
            public ?float $refunded = null;

            public function getItems()
            {
                return $this->items;
            }

            public function getEntityId()
            {
                return '12';
            }

            public function getIncrementId()
            {
                return '000000012';
            }

            public function getCreatedAt()
            {
                return '2026-12-07 10:00:00';
            }

            public function getUpdatedAt()
            {
                return '2026-12-07 10:00:01';
            }

            public function getState()
            {
                return 'new';
            }

            public function getStatus()
            {
                return 'pending';
            }

            public function getGrandTotal()
            {
                return '125.5000';
            }

            public function getOrderCurrencyCode()
            {
                return 'EUR';
            }

            public function getTotalRefunded()
            {
                return $this->refunded;
            }
        };
        $order->items = $items;
        $order->refunded = $refunded;
        return $order;
    }

    public function testTheOrderAsRestGivesIt(): void
    {
        $parent = self::item([
            'item_id' => 31, 'product_id' => 2046, 'product_type' => 'configurable', 'sku' => 'AV',
            'price' => '125.5', 'options' => ['tryon_session' => self::SESSION, 'info_buyRequest' => []],
        ]);
        $child = self::item(['item_id' => 32, 'parent_item_id' => 31, 'product_id' => 2047, 'sku' => 'AV-G']);
        $built = (new OrderPayload())->build(self::order([$parent, $child]));
        $this->assertSame(12, $built['entity_id']);
        $this->assertSame('000000012', $built['increment_id']);
        $this->assertSame(125.5, $built['grand_total']);
        $this->assertNull($built['total_refunded']);
        $this->assertSame(['tryon_session' => self::SESSION], $built['items'][0]['extension_attributes']);
        $this->assertArrayNotHasKey('parent_item_id', $built['items'][0]);
        $this->assertSame(31, $built['items'][1]['parent_item_id']);
        $this->assertArrayNotHasKey('extension_attributes', $built['items'][1]);
    }

    public function testMalformedSessionsAreDropped(): void
    {
        foreach (['x', '<script>alert(1)</script>', str_repeat('a', 65), 42, ['a']] as $bad) {
            $item = self::item(['item_id' => 1, 'product_id' => 2, 'options' => ['tryon_session' => $bad]]);
            $this->assertNull(OrderPayload::sessionOf($item));
        }
    }
}
