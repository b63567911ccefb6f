<?php

declare(strict_types=1);

namespace Tryon\TryOn\Test\Unit\ViewModel;

use Magento\Catalog\Api\Data\ProductAttributeMediaGalleryEntryInterface;
use Magento\Catalog\Api\Data\ProductExtensionInterface;
use Magento\Catalog\Api\Data\ProductInterface;
use Magento\Catalog\Helper\Image;
use PHPUnit\Framework\TestCase;
use Tryon\TryOn\Test\Unit\Model\ConfigTest;
use Tryon\TryOn\ViewModel\TryOn;

class TryOnTest extends TestCase
{
    /** @param list<mixed> $links */
    private function product(string $type, array $links = [], bool $disabledFirst = false): ProductInterface
    {
        $extension = $this->createMock(ProductExtensionInterface::class);
        $extension->method('getConfigurableProductLinks')->willReturn($links);
        $entries = [];
        foreach ([['/a/v/aviator-side.jpg', $disabledFirst], ['/a/v/aviator.jpg', false]] as [$file, $off]) {
            $entry = $this->createMock(ProductAttributeMediaGalleryEntryInterface::class);
            $entry->method('isDisabled')->willReturn($off);
            $entry->method('getMediaType')->willReturn('image');
            $entry->method('getFile')->willReturn($file);
            $entries[] = $entry;
        }
        $product = $this->createMock(ProductInterface::class);
        $product->method('getId')->willReturn('2046');
        $product->method('getSku')->willReturn('AV');
        $product->method('getName')->willReturn('Aviator "Gold" <b>');
        $product->method('getTypeId')->willReturn($type);
        $product->method('getExtensionAttributes')->willReturn($extension);
        $product->method('getMediaGalleryEntries')->willReturn($entries);
        return $product;
    }

    private function viewModel(?array $config = null): TryOn
    {
        return new TryOn(ConfigTest::config($config ?? ConfigTest::ready()), new Image());
    }

    public function testAConfigurableProductAndItsVariants(): void
    {
        $attributes = $this->viewModel()->attributes($this->product('configurable', [2047, '2048', 2047, 'x', -1]));
        $this->assertSame('2046', $attributes['data-tryon-product']);
        $this->assertSame('2047,2048', $attributes['data-tryon-variants']);
        $this->assertSame('', $attributes['data-tryon-variant']); // the shopper has not picked yet
        $this->assertSame('Aviator "Gold" <b>', $attributes['data-tryon-name']); // the template escapes
        $this->assertSame(
            'https://shop.example/media/catalog/product/cache/large/a/v/aviator-side.jpg',
            $attributes['data-tryon-image']
        );
    }

    public function testASimpleProductHasNoVariantsAndSkipsDisabledImages(): void
    {
        $attributes = $this->viewModel()->attributes($this->product('simple', [5], true));
        $this->assertSame('', $attributes['data-tryon-variants']);
        $this->assertStringEndsWith('/a/v/aviator.jpg', $attributes['data-tryon-image']);
    }

    public function testTheSdkIsPinned(): void
    {
        $model = $this->viewModel();
        $this->assertTrue($model->isReady());
        $this->assertSame(ConfigTest::HASH, $model->sdkIntegrity());
        $this->assertSame('https://api.tryon.example/sdk/v1.4.2/tryon.js', $model->sdkUrl());
        $unpinned = array_merge(ConfigTest::ready(), ['tryon/general/sdk_integrity' => '']);
        $this->assertFalse($this->viewModel($unpinned)->isReady());
    }
}
