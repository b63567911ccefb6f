<?php

declare(strict_types=1);

namespace Tryon\TryOn\Plugin;

use Magento\Quote\Model\Quote\Item\AbstractItem;
use Magento\Quote\Model\Quote\Item\ToOrderItem;
use Magento\Sales\Api\Data\OrderItemInterface;
use Tryon\TryOn\Model\OrderPayload;
use Tryon\TryOn\Model\Session;

/**
 * Copies the quote item's try-on session and widget session into the order item's product options when the
 * quote becomes an order (kept with the order item; OrderRepositoryPlugin shows it in REST).
 */
class ToOrderItemPlugin
{
    /**
     * @param array<string, mixed> $data
     */
    public function afterConvert(
        ToOrderItem $subject,
        OrderItemInterface $orderItem,
        AbstractItem $item,
        array $data = []
    ): OrderItemInterface {
        foreach ([OrderPayload::SESSION_OPTION, OrderPayload::WIDGET_OPTION] as $code) {
            $option = $item->getOptionByCode($code);
            $session = $option ? Session::valid($option->getValue()) : null;
            if ($session !== null) {
                $options = $orderItem->getProductOptions();
                $options = is_array($options) ? $options : [];
                $options[$code] = $session;
                $orderItem->setProductOptions($options);
            }
        }
        return $orderItem;
    }
}
