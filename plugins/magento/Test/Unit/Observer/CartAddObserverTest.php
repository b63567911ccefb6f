<?php

declare(strict_types=1);

namespace Tryon\TryOn\Test\Unit\Observer;

use Magento\Framework\App\RequestInterface;
use Magento\Framework\Event;
use Magento\Framework\Event\Observer;
use PHPUnit\Framework\TestCase;
use Tryon\TryOn\Observer\CartAddObserver;

class CartAddObserverTest extends TestCase
{
    private const SESSION = '3f2b8c1d-0a4e-4b6f-9c7d-2e1f0a9b8c7d';

    private function request(mixed $value, mixed $widget = null): RequestInterface
    {
        $request = $this->createMock(RequestInterface::class);
        $request->method('getParam')->willReturnCallback(
            fn ($key) => match ($key) {
                'tryon_session' => $value,
                'tryon_widget_session' => $widget,
                default => null,
            }
        );
        return $request;
    }

    private function item(int $productId, ?object $parent = null): object
    {
        return new class ($productId, $parent) {
            /** @var list<array<string, mixed>> */
            public array $options = [];

            public function __construct(private int $productId, private ?object $parent)
            {
            }

            public function getParentItem(): ?object
            {
                return $this->parent;
            }

            public function getProductId(): int
            {
                return $this->productId;
            }

            /** @param array<string, mixed> $option */
            public function addOption(array $option): static
            {
                $this->options[] = $option;
                return $this;
            }
        };
    }

    private function observe(object $item): Observer
    {
        return new Observer(['event' => new Event(['quote_item' => $item])]);
    }

    public function testTheSessionGoesOnTheLineTheOrderShows(): void
    {
        $parent = $this->item(2046);
        $child = $this->item(2047, $parent);
        (new CartAddObserver($this->request(self::SESSION)))->execute($this->observe($child));
        $expected = [['product_id' => 2046, 'code' => 'tryon_session', 'value' => self::SESSION]];
        $this->assertSame($expected, $parent->options);
        $this->assertSame([], $child->options);

        $simple = $this->item(7);
        (new CartAddObserver($this->request(self::SESSION)))->execute($this->observe($simple));
        $this->assertSame(self::SESSION, $simple->options[0]['value']);
    }

    public function testAHoldoutShoppersWidgetSessionGoesOnTheLineAlone(): void
    {
        // Added with the page's own button: no try-on session, the addedToCart widget session.
        $parent = $this->item(2046);
        $child = $this->item(2047, $parent);
        (new CartAddObserver($this->request(null, 'w-4f1c2a9e7b3d')))->execute($this->observe($child));
        $expected = [['product_id' => 2046, 'code' => 'tryon_widget_session', 'value' => 'w-4f1c2a9e7b3d']];
        $this->assertSame($expected, $parent->options);
        $this->assertSame([], $child->options);
    }

    public function testNoOrAMalformedSessionAddsNothing(): void
    {
        foreach ([null, '', 'short', '"><img src=x>', str_repeat('a', 65), ['x']] as $value) {
            $item = $this->item(7);
            (new CartAddObserver($this->request($value, $value)))->execute($this->observe($item));
            $this->assertSame([], $item->options);
        }
    }
}
