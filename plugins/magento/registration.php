<?php

/**
 * Registers the Tryon_TryOn module with Magento's component registrar.
 */

declare(strict_types=1);

use Magento\Framework\Component\ComponentRegistrar;

ComponentRegistrar::register(ComponentRegistrar::MODULE, 'Tryon_TryOn', __DIR__);
