<?php

/**
 * STUB for the unit tests only (see README.md in this folder): not Magento's code.
 */

declare(strict_types=1);

namespace Magento\Sales\Api\Data;

/** STUB (generated in Magento from etc/extension_attributes.xml) */
interface OrderItemExtensionInterface
{
    public function getTryonSession();

    public function setTryonSession($tryonSession);

    public function getTryonWidgetSession();

    public function setTryonWidgetSession($tryonWidgetSession);
}
