<?php

/**
 * STUB for the unit tests only (see README.md in this folder): not Magento's code.
 */

declare(strict_types=1);

namespace Magento\Quote\Model\Quote\Item;

/** STUB: a quote item with its options by code. */
abstract class AbstractItem extends \Magento\Framework\DataObject
{
    abstract public function getOptionByCode($code);
}
