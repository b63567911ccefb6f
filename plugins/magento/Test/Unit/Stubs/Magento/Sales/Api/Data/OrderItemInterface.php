<?php

/**
 * STUB for the unit tests only (see README.md in this folder): not Magento's code.
 */

declare(strict_types=1);

namespace Magento\Sales\Api\Data;

/** STUB */
interface OrderItemInterface
{
    public function getItemId();

    public function getParentItemId();

    public function getProductId();

    public function getProductType();

    public function getSku();

    public function getQtyOrdered();

    public function getPrice();

    public function getPriceInclTax();

    public function getProductOptions();

    public function setProductOptions(?array $productOptions = null);

    public function getExtensionAttributes();

    public function setExtensionAttributes($extensionAttributes);
}
