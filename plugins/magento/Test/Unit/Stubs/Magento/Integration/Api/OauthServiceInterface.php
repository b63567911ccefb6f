<?php

/**
 * STUB for the unit tests only (see README.md in this folder): not Magento's code.
 */

declare(strict_types=1);

namespace Magento\Integration\Api;

/** STUB */
interface OauthServiceInterface
{
    public function loadConsumer($consumerId);
}
