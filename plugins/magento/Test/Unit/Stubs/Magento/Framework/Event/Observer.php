<?php

/**
 * STUB for the unit tests only (see README.md in this folder): not Magento's code.
 */

declare(strict_types=1);

namespace Magento\Framework\Event;

use Magento\Framework\DataObject;
use Magento\Framework\Event;

/** STUB */
class Observer extends DataObject
{
    public function getEvent(): Event
    {
        $event = $this->data['event'] ?? null;
        return $event instanceof Event ? $event : new Event();
    }
}
