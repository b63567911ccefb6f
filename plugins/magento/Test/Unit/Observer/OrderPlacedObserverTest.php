<?php

declare(strict_types=1);

namespace Tryon\TryOn\Test\Unit\Observer;

use Magento\Framework\DataObject;
use Magento\Framework\Event;
use Magento\Framework\Event\Observer;
use Magento\Framework\HTTP\ClientInterface;
use Magento\Integration\Api\IntegrationServiceInterface;
use Magento\Integration\Api\OauthServiceInterface;
use PHPUnit\Framework\TestCase;
use Psr\Log\LoggerInterface;
use Tryon\TryOn\Model\Credentials;
use Tryon\TryOn\Model\OrderPayload;
use Tryon\TryOn\Model\Signer;
use Tryon\TryOn\Observer\OrderPlacedObserver;
use Tryon\TryOn\Test\Unit\Model\ConfigTest;
use Tryon\TryOn\Test\Unit\Model\OrderPayloadTest;

class OrderPlacedObserverTest extends TestCase
{
    private const KEY = 'k9t7v2q8w1e6r3y5u0i4o7p2a5s8d1f3';
    private const SECRET = '4nr0x8yb2vq1m7k5zt3c9p6wj0hs2lde';
    private const NOW = 1796688000;

    /** @var list<array{string, string, array<string, string>}> */
    private array $posts = [];
    private int $status = 200;
    private ?\Throwable $failure = null;
    /** @var list<string> */
    private array $warnings = [];

    private function client(): ClientInterface
    {
        $test = $this;
        return new class ($test) implements ClientInterface {
            /** @var array<string, string> */
            private array $headers = [];

            public function __construct(private OrderPlacedObserverTest $test)
            {
            }

            public function setTimeout($value)
            {
                $this->test->assertLessThanOrEqual(5, $value);
            }

            public function setHeaders($headers)
            {
                $this->headers = $headers;
            }

            public function post($uri, $params)
            {
                $this->test->record($uri, $params, $this->headers);
            }

            public function getStatus()
            {
                return $this->test->status();
            }

            public function getBody()
            {
                return '';
            }
        };
    }

    /** @param array<string, string> $headers */
    public function record(string $uri, string $body, array $headers): void
    {
        if ($this->failure !== null) {
            throw $this->failure;
        }
        $this->posts[] = [$uri, $body, $headers];
    }

    public function status(): int
    {
        return $this->status;
    }

    private function observer(?int $consumerId = 5, ?array $config = null): OrderPlacedObserver
    {
        $integrations = $this->createMock(IntegrationServiceInterface::class);
        $integrations->method('findByName')->willReturn(new DataObject(['consumer_id' => $consumerId]));
        $oauth = $this->createMock(OauthServiceInterface::class);
        $oauth->method('loadConsumer')->willReturn(new DataObject(['key' => self::KEY, 'secret' => self::SECRET]));
        $logger = $this->createMock(LoggerInterface::class);
        $logger->method('warning')->willReturnCallback(function ($message) {
            $this->warnings[] = $message;
        });
        return new OrderPlacedObserver(
            ConfigTest::config($config ?? ConfigTest::ready()),
            new Credentials($integrations, $oauth),
            new OrderPayload(),
            new Signer(),
            $this->client(),
            $logger,
            fn () => self::NOW
        );
    }

    private function placed(): Observer
    {
        $item = OrderPayloadTest::item([
            'item_id' => 31, 'product_id' => 2046, 'price' => 125.5,
            'options' => ['tryon_session' => OrderPayloadTest::SESSION],
        ]);
        return new Observer(['event' => new Event(['order' => OrderPayloadTest::order([$item])])]);
    }

    public function testThePlacedOrderIsPostedSigned(): void
    {
        $this->observer()->execute($this->placed());
        $this->assertCount(1, $this->posts);
        [$uri, $body, $headers] = $this->posts[0];
        $this->assertSame('https://api.tryon.example/platforms/magento/orders', $uri);
        $expected = (new Signer())->sign(self::SECRET, (string) self::NOW, 'shop.example', self::KEY, $body);
        $this->assertSame($expected, $headers[Signer::SIGNATURE_HEADER]);
        $this->assertSame(self::KEY, $headers[Signer::CONSUMER_HEADER]);
        $decoded = json_decode($body, true, 512, JSON_THROW_ON_ERROR);
        $this->assertSame('000000012', $decoded['order']['increment_id']);
        $line = $decoded['order']['items'][0];
        $this->assertSame(OrderPayloadTest::SESSION, $line['extension_attributes']['tryon_session']);
        $this->assertSame([], $this->warnings);
    }

    public function testAFailedPostNeverBreaksTheCheckout(): void
    {
        $this->status = 503;
        $this->observer()->execute($this->placed());
        $this->assertCount(1, $this->warnings);

        $this->failure = new \RuntimeException('connection refused');
        $this->observer()->execute($this->placed());
        $this->assertCount(2, $this->warnings);
    }

    public function testNothingIsPostedBeforeActivationOrWhenTurnedOff(): void
    {
        $this->observer(null)->execute($this->placed());
        $off = array_merge(ConfigTest::ready(), ['tryon/orders/post_orders' => '0']);
        $this->observer(5, $off)->execute($this->placed());
        $this->observer()->execute(new Observer(['event' => new Event(['order' => 'not an order'])]));
        $this->assertSame([], $this->posts);
        $this->assertSame([], $this->warnings);
    }
}
