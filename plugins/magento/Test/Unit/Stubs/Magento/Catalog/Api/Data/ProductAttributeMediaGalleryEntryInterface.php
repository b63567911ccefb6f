<?php

/**
 * STUB for the unit tests only (see README.md in this folder): not Magento's code.
 */

declare(strict_types=1);

namespace Magento\Catalog\Api\Data;

/** STUB */
interface ProductAttributeMediaGalleryEntryInterface
{
    public function isDisabled();

    public function getMediaType();

    public function getFile();
}
