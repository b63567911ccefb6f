<?php

/**
 * STUB for the unit tests only (see README.md in this folder): not Magento's code.
 */

declare(strict_types=1);

namespace Magento\Framework\App\Config;

/** STUB */
interface ScopeConfigInterface
{
    public function getValue($path, $scopeType = 'default', $scopeCode = null);
}
