<?php

/**
 * STUB for the unit tests only (see README.md in this folder): not Magento's code.
 */

declare(strict_types=1);

namespace Magento\Sales\Api\Data;

/** STUB (generated in Magento) */
class OrderItemExtensionFactory
{
    public function create(array $data = []): OrderItemExtensionInterface
    {
        return new class implements OrderItemExtensionInterface {
            private ?string $session = null;
            private ?string $widget = null;

            public function getTryonSession()
            {
                return $this->session;
            }

            public function setTryonSession($tryonSession)
            {
                $this->session = $tryonSession;
                return $this;
            }

            public function getTryonWidgetSession()
            {
                return $this->widget;
            }

            public function setTryonWidgetSession($tryonWidgetSession)
            {
                $this->widget = $tryonWidgetSession;
                return $this;
            }
        };
    }
}
