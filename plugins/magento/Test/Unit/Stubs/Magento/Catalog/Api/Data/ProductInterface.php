<?php

/**
 * STUB for the unit tests only (see README.md in this folder): not Magento's code.
 */

declare(strict_types=1);

namespace Magento\Catalog\Api\Data;

/** STUB */
interface ProductInterface
{
    public function getId();

    public function getSku();

    public function getName();

    public function getTypeId();

    public function getExtensionAttributes();

    public function getMediaGalleryEntries();
}
