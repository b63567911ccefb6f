<?php

/**
 * STUB for the unit tests only (see README.md in this folder): not Magento's code.
 */

declare(strict_types=1);

namespace Magento\Framework\Event;

/** STUB */
interface ObserverInterface
{
    public function execute(Observer $observer);
}
