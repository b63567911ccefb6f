<?php

/**
 * STUB for the unit tests only (see README.md in this folder): not Magento's code.
 */

declare(strict_types=1);

namespace Magento\Catalog\Api\Data;

/** STUB (a generated interface in Magento) */
interface ProductExtensionInterface
{
    public function getConfigurableProductLinks();
}
