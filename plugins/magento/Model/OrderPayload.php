<?php

declare(strict_types=1);

namespace Tryon\TryOn\Model;

use Magento\Sales\Api\Data\OrderInterface;
use Magento\Sales\Api\Data\OrderItemInterface;

/**
 * An order as the module posts it: the fields of Magento's REST order (GET /V1/orders) the
 * gateway reads, so a posted and a pulled order are read the same way (and deduplicated).
 */
class OrderPayload
{
    public const SESSION_OPTION = 'tryon_session';
    /** The widget session of the add (TryOn.addedToCart or the widget's own add). */
    public const WIDGET_OPTION = 'tryon_widget_session';

    /**
     * @return array<string, mixed>
     */
    public function build(OrderInterface $order): array
    {
        $items = [];
        foreach ($order->getItems() ?? [] as $item) {
            $items[] = $this->item($item);
        }
        return [
            'entity_id' => (int) $order->getEntityId(),
            'increment_id' => (string) $order->getIncrementId(),
            'created_at' => (string) $order->getCreatedAt(),
            'updated_at' => (string) $order->getUpdatedAt(),
            'state' => (string) $order->getState(),
            'status' => (string) $order->getStatus(),
            'grand_total' => (float) $order->getGrandTotal(),
            'order_currency_code' => (string) $order->getOrderCurrencyCode(),
            'total_refunded' => $order->getTotalRefunded() === null ? null : (float) $order->getTotalRefunded(),
            'items' => $items,
        ];
    }

    /**
     * @return array<string, mixed>
     */
    private function item(OrderItemInterface $item): array
    {
        $out = [
            'item_id' => (int) $item->getItemId(),
            'product_id' => (int) $item->getProductId(),
            'product_type' => (string) $item->getProductType(),
            'sku' => (string) $item->getSku(),
            'qty_ordered' => (float) $item->getQtyOrdered(),
            'price' => (float) $item->getPrice(),
            'price_incl_tax' => (float) $item->getPriceInclTax(),
        ];
        if ($item->getParentItemId()) {
            $out['parent_item_id'] = (int) $item->getParentItemId();
        }
        $extension = [];
        $session = self::sessionOf($item);
        if ($session !== null) {
            $extension['tryon_session'] = $session;
        }
        $widget = self::sessionOf($item, self::WIDGET_OPTION);
        if ($widget !== null) {
            $extension['tryon_widget_session'] = $widget;
        }
        if ($extension !== []) {
            $out['extension_attributes'] = $extension;
        }
        return $out;
    }

    /**
     * The try-on session (or with WIDGET_OPTION the widget session) the order item carries
     * (ToOrderItemPlugin put it there), or null.
     */
    public static function sessionOf(OrderItemInterface $item, string $option = self::SESSION_OPTION): ?string
    {
        $options = $item->getProductOptions();
        $value = is_array($options) ? ($options[$option] ?? null) : null;
        return Session::valid($value);
    }
}
