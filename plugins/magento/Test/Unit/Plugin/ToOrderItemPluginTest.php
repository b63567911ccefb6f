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
    private function quoteItem(mixed $session, mixed $widget = null): AbstractItem
    {
        return new class ($session, $widget) extends AbstractItem {
            public function __construct(private mixed $session, private mixed $widget)
            {
                parent::__construct([]);
            }

            public function getOptionByCode($code)
            {
                $value = match ($code) {
                    'tryon_session' => $this->session,
                    'tryon_widget_session' => $this->widget,
                    default => null,
                };
                return $value === null ? null : new DataObject(['value' => $value]);
            }
        };
    }

    public function testAHoldoutShoppersWidgetSessionTravelsToRestAndThePost(): void
    {
        $orderItem = OrderPayloadTest::item(['item_id' => 1, 'product_id' => 2046]);
        $quoteItem = $this->quoteItem(null, 'w-4f1c2a9e7b3d');
        (new ToOrderItemPlugin())->afterConvert(new ToOrderItem(), $orderItem, $quoteItem);
        $this->assertSame(['tryon_widget_session' => 'w-4f1c2a9e7b3d'], $orderItem->getProductOptions());

        $order = OrderPayloadTest::order([$orderItem]);
        $repository = $this->createMock(OrderRepositoryInterface::class);
        (new OrderRepositoryPlugin(new OrderItemExtensionFactory()))->afterGet($repository, $order);
        $this->assertSame('w-4f1c2a9e7b3d', $orderItem->getExtensionAttributes()->getTryonWidgetSession());
        $this->assertNull($orderItem->getExtensionAttributes()->getTryonSession());
        $built = (new \Tryon\TryOn\Model\OrderPayload())->build($order);
        $this->assertSame(['tryon_widget_session' => 'w-4f1c2a9e7b3d'], $built['items'][0]['extension_attributes']);
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
            $quoteItem = $this->quoteItem($session, $session);
            (new ToOrderItemPlugin())->afterConvert(new ToOrderItem(), $orderItem, $quoteItem);
            $this->assertNull($orderItem->getProductOptions());
            $order = OrderPayloadTest::order([$orderItem]);
            $repository = $this->createMock(OrderRepositoryInterface::class);
            (new OrderRepositoryPlugin(new OrderItemExtensionFactory()))->afterGet($repository, $order);
            $this->assertNull($orderItem->getExtensionAttributes());
        }
    }
}
