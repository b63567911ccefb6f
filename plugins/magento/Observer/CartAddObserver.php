<?php

declare(strict_types=1);

namespace Tryon\TryOn\Observer;

use Magento\Framework\App\RequestInterface;
use Magento\Framework\Event\Observer;
use Magento\Framework\Event\ObserverInterface;
use Tryon\TryOn\Model\OrderPayload;
use Tryon\TryOn\Model\Session;

/**
 * checkout_cart_product_add_after: the add-to-cart request's "tryon_session" field (the
 * product page's script puts it on the form after a try-on) and "tryon_widget_session" field
 * (the widget session TryOn.addedToCart answered, or the widget's own add's) become options
 * of the quote item; for a configurable product, of the parent item (the line the order shows).
 */
class CartAddObserver implements ObserverInterface
{
    public const FIELD = 'tryon_session';
    public const WIDGET_FIELD = 'tryon_widget_session';

    public function __construct(private readonly RequestInterface $request)
    {
    }

    public function execute(Observer $observer): void
    {
        $item = $observer->getEvent()->getData('quote_item');
        if (!is_object($item)) {
            return;
        }
        $parent = $item->getParentItem();
        $target = $parent ?: $item;
        $fields = [self::FIELD => OrderPayload::SESSION_OPTION, self::WIDGET_FIELD => OrderPayload::WIDGET_OPTION];
        foreach ($fields as $field => $code) {
            $session = Session::valid($this->request->getParam($field));
            if ($session !== null) {
                $target->addOption([
                    'product_id' => $target->getProductId(),
                    'code' => $code,
                    'value' => $session,
                ]);
            }
        }
    }
}
