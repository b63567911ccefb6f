<?php

/**
 * STUB for the unit tests only (see README.md in this folder): not Magento's code.
 */

declare(strict_types=1);

namespace Magento\Sales\Api\Data;

/** STUB */
interface OrderInterface
{
    public function getItems();

    public function getEntityId();

    public function getIncrementId();

    public function getCreatedAt();

    public function getUpdatedAt();

    public function getState();

    public function getStatus();

    public function getGrandTotal();

    public function getOrderCurrencyCode();

    public function getTotalRefunded();
}
