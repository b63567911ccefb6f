<?php

declare(strict_types=1);

namespace Tryon\TryOn\Test\Unit\Plugin;

use Magento\Framework\DataObject;
use Magento\Quote\Model\Quote\Item\AbstractItem;
use Magento\Quote\Model\Quote\Item\ToOrderItem;
use Magento\Sales\Api\OrderRepositoryInterface;
use Magento\Sales\Api\Data\OrderItemExtensionFactory;
use PHPUnit\Framework\TestCase;
use Tryon\TryOn\Plugin\OrderRepositoryPlugin;
use Tryon\TryOn\Plugin\ToOrderItemPlugin;
use Tryon\TryOn\Test\Unit\Model\OrderPayloadTest;

class ToOrderItemPluginTest extends TestCase
{
    private function quoteItem(mixed $session): AbstractItem
    {
        return new class ($session) extends AbstractItem {
            public function __construct(private mixed $session)
            {
                parent::__construct([]);
            }

            public function getOptionByCode($code)
            {
                if ($code !== 'tryon_session' || $this->session === null) {
                    return null;
                }
                return new DataObject(['value' => $this->session]);
            }
        };
    }

    public function testTheSessionTravelsFromQuoteItemToOrderItemToRest(): void
    {
        $orderItem = OrderPayloadTest::item(['item_id' => 1, 'options' => ['info_buyRequest' => ['qty' => 1]]]);
        $out = (new ToOrderItemPlugin())->afterConvert(
            new ToOrderItem(),
            $orderItem,
            $this->quoteItem(OrderPayloadTest::SESSION)
        );
        $this->assertSame($orderItem, $out);
        $this->assertSame(
            ['info_buyRequest' => ['qty' => 1], 'tryon_session' => OrderPayloadTest::SESSION],
            $orderItem->getProductOptions()
        );

        $order = OrderPayloadTest::order([$orderItem]);
        $repository = $this->createMock(OrderRepositoryInterface::class);
        (new OrderRepositoryPlugin(new OrderItemExtensionFactory()))->afterGet($repository, $order);
        $this->assertSame(OrderPayloadTest::SESSION, $orderItem->getExtensionAttributes()->getTryonSession());
    }

    public function testNoOrAForgedSessionChangesNothing(): void
    {
        foreach ([null, 'x', '"><b>'] as $session) {
            $orderItem = OrderPayloadTest::item(['item_id' => 1]);
            (new ToOrderItemPlugin())->afterConvert(new ToOrderItem(), $orderItem, $this->quoteItem($session));
            $this->assertNull($orderItem->getProductOptions());
            $order = OrderPayloadTest::order([$orderItem]);
            $repository = $this->createMock(OrderRepositoryInterface::class);
            (new OrderRepositoryPlugin(new OrderItemExtensionFactory()))->afterGet($repository, $order);
            $this->assertNull($orderItem->getExtensionAttributes());
        }
    }
}
