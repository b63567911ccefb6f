<?php

/**
 * STUB for the unit tests only (see README.md in this folder): not Magento's code.
 */

declare(strict_types=1);

/** STUB of Magento's translation function. */
function __(string $text): string
{
    return $text;
}
