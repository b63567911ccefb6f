<?php

declare(strict_types=1);

namespace Tryon\TryOn\Plugin;

use Magento\Sales\Api\Data\OrderInterface;
use Magento\Sales\Api\Data\OrderItemExtensionFactory;
use Magento\Sales\Api\Data\OrderSearchResultInterface;
use Magento\Sales\Api\OrderRepositoryInterface;
use Tryon\TryOn\Model\OrderPayload;

/**
 * The order items' try-on sessions as the extension attributes "tryon_session" and
 * "tryon_widget_session" (etc/extension_attributes.xml), so the gateway's scheduled pull (GET /V1/orders) reads the
 * same sessions the module's post carries.
 */
class OrderRepositoryPlugin
{
    public function __construct(private readonly OrderItemExtensionFactory $extensionFactory)
    {
    }

    public function afterGet(OrderRepositoryInterface $subject, OrderInterface $order): OrderInterface
    {
        $this->addSessions($order);
        return $order;
    }

    public function afterGetList(
        OrderRepositoryInterface $subject,
        OrderSearchResultInterface $result
    ): OrderSearchResultInterface {
        foreach ($result->getItems() as $order) {
            $this->addSessions($order);
        }
        return $result;
    }

    private function addSessions(OrderInterface $order): void
    {
        foreach ($order->getItems() ?? [] as $item) {
            $session = OrderPayload::sessionOf($item);
            $widget = OrderPayload::sessionOf($item, OrderPayload::WIDGET_OPTION);
            if ($session === null && $widget === null) {
                continue;
            }
            $extension = $item->getExtensionAttributes() ?? $this->extensionFactory->create();
            if ($session !== null) {
                $extension->setTryonSession($session);
            }
            if ($widget !== null) {
                $extension->setTryonWidgetSession($widget);
            }
            $item->setExtensionAttributes($extension);
        }
    }
}
