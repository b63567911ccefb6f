<?php

/**
 * STUB for the unit tests only (see README.md in this folder): not Magento's code.
 */

declare(strict_types=1);

namespace Psr\Log;

/** STUB of the PSR-3 logger (only the levels the module uses). */
interface LoggerInterface
{
    public function warning($message, array $context = []);
}
