<?php

/**
 * STUB for the unit tests only (see README.md in this folder): not Magento's code.
 */

declare(strict_types=1);

namespace Magento\Framework\HTTP;

/** STUB */
interface ClientInterface
{
    public function setTimeout($value);

    public function setHeaders($headers);

    public function post($uri, $params);

    public function getStatus();

    public function getBody();
}
