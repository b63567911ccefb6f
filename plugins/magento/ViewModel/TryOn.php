<?php

declare(strict_types=1);

namespace Tryon\TryOn\ViewModel;

use Magento\Catalog\Api\Data\ProductInterface;
use Magento\Catalog\Helper\Image;
use Magento\Framework\View\Element\Block\ArgumentInterface;
use Tryon\TryOn\Model\Config;

/**
 * What view/frontend/templates/button.phtml renders: the SDK pinned by its integrity hash,
 * and the product the button tries on. Ids are Magento's entity ids, the ids the gateway's
 * catalog sync gives the products (a configurable's simple products are its variants; the
 * page script follows the one the shopper picks through the form's
 * selected_configurable_option input).
 */
class TryOn implements ArgumentInterface
{
    public const CONFIGURABLE = 'configurable';

    public function __construct(
        private readonly Config $config,
        private readonly Image $imageHelper
    ) {
    }

    public function isReady(): bool
    {
        return $this->config->isReady();
    }

    public function sdkUrl(): string
    {
        return $this->config->sdkUrl();
    }

    public function sdkIntegrity(): string
    {
        return $this->config->sdkIntegrity();
    }

    public function publishableKey(): string
    {
        return $this->config->publishableKey();
    }

    public function apiBase(): string
    {
        return $this->config->apiBase();
    }

    /**
     * The button's data-* attributes (values unescaped: the template escapes each).
     *
     * @return array<string, string>
     */
    public function attributes(ProductInterface $product): array
    {
        $variants = $this->variantIds($product);
        return [
            'data-tryon-product' => (string) $product->getId(),
            'data-tryon-variants' => implode(',', $variants),
            'data-tryon-variant' => count($variants) === 1 ? $variants[0] : '',
            'data-tryon-sku' => (string) $product->getSku(),
            'data-tryon-name' => (string) $product->getName(),
            'data-tryon-image' => $this->imageUrl($product),
        ];
    }

    /**
     * A configurable product's simple products (its variants); none for other types.
     *
     * @return list<string>
     */
    public function variantIds(ProductInterface $product): array
    {
        if ($product->getTypeId() !== self::CONFIGURABLE) {
            return [];
        }
        $extension = $product->getExtensionAttributes();
        $links = $extension ? $extension->getConfigurableProductLinks() : null;
        $ids = [];
        foreach (is_array($links) ? $links : [] as $link) {
            if (is_numeric($link) && (int) $link > 0) {
                $ids[] = (string) (int) $link;
            }
        }
        return array_values(array_unique($ids));
    }

    /** The main image as the product page shows it (resized through the image helper). */
    public function imageUrl(ProductInterface $product): string
    {
        foreach ($product->getMediaGalleryEntries() ?? [] as $entry) {
            if ($entry->isDisabled() || $entry->getMediaType() !== 'image') {
                continue;
            }
            return (string) $this->imageHelper
                ->init($product, 'product_page_image_large')
                ->setImageFile((string) $entry->getFile())
                ->getUrl();
        }
        return '';
    }
}
