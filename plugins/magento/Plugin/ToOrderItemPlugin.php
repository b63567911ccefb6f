<?php

declare(strict_types=1);

namespace Tryon\TryOn\Plugin;

use Magento\Quote\Model\Quote\Item\AbstractItem;
use Magento\Quote\Model\Quote\Item\ToOrderItem;
use Magento\Sales\Api\Data\OrderItemInterface;
use Tryon\TryOn\Model\OrderPayload;
use Tryon\TryOn\Model\Session;

/**
 * Copies the quote item's try-on session into the order item's product options when the
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
        $option = $item->getOptionByCode(OrderPayload::SESSION_OPTION);
        $session = $option ? Session::valid($option->getValue()) : null;
        if ($session !== null) {
            $options = $orderItem->getProductOptions();
            $options = is_array($options) ? $options : [];
            $options[OrderPayload::SESSION_OPTION] = $session;
            $orderItem->setProductOptions($options);
        }
        return $orderItem;
    }
}
