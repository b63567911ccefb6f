<?php

/**
 * STUB for the unit tests only (see README.md in this folder): not Magento's code.
 */

declare(strict_types=1);

namespace Magento\Catalog\Helper;

/** STUB of the image helper: init() then setImageFile() then getUrl(). */
class Image
{
    private string $file = '';

    public function init($product, $imageId, $attributes = []): static
    {
        return $this;
    }

    public function setImageFile($file): static
    {
        $this->file = (string) $file;
        return $this;
    }

    public function getUrl(): string
    {
        return 'https://shop.example/media/catalog/product/cache/large' . $this->file;
    }
}
