<?php

declare(strict_types=1);

namespace Tryon\TryOn\Observer;

use Magento\Framework\Event\Observer;
use Magento\Framework\Event\ObserverInterface;
use Magento\Framework\HTTP\ClientInterface;
use Magento\Sales\Api\Data\OrderInterface;
use Psr\Log\LoggerInterface;
use Tryon\TryOn\Model\Config;
use Tryon\TryOn\Model\Credentials;
use Tryon\TryOn\Model\OrderPayload;
use Tryon\TryOn\Model\Signer;

/**
 * sales_model_service_quote_submit_success: post the placed order to the gateway
 * (POST {gateway}/platforms/magento/orders), signed with the integration's consumer secret.
 *
 * Magento Open Source sends no webhooks, so this is the push; it must never break a
 * checkout: every failure is logged and left to the gateway's scheduled pull, which reads
 * the same order from the REST API (the gateway deduplicates the two).
 */
class OrderPlacedObserver implements ObserverInterface
{
    public const PATH = '/platforms/magento/orders';
    public const TIMEOUT_S = 3;

    /** @var callable(): int */
    private $clock;

    public function __construct(
        private readonly Config $config,
        private readonly Credentials $credentials,
        private readonly OrderPayload $payload,
        private readonly Signer $signer,
        private readonly ClientInterface $httpClient,
        private readonly LoggerInterface $logger,
        ?callable $clock = null
    ) {
        $this->clock = $clock ?? 'time';
    }

    public function execute(Observer $observer): void
    {
        $order = $observer->getEvent()->getData('order');
        if (!$order instanceof OrderInterface || !$this->config->postOrders()) {
            return;
        }
        try {
            $this->post($order);
        } catch (\Throwable $error) {
            $this->logger->warning('tryon: the order post failed; the gateway pull will find it', [
                'order' => $order->getIncrementId(),
                'error' => $error->getMessage(),
            ]);
        }
    }

    private function post(OrderInterface $order): void
    {
        $consumer = $this->credentials->consumer();
        if ($consumer === null) {
            return; // not activated yet: nothing to sign with
        }
        [$key, $secret] = $consumer;
        $body = json_encode(['order' => $this->payload->build($order)], JSON_THROW_ON_ERROR);
        $headers = $this->signer->headers($secret, ($this->clock)(), $this->config->shop(), $key, $body);
        $this->httpClient->setTimeout(self::TIMEOUT_S);
        $this->httpClient->setHeaders($headers);
        $this->httpClient->post($this->config->apiBase() . self::PATH, $body);
        $status = $this->httpClient->getStatus();
        if ($status < 200 || $status >= 300) {
            throw new \RuntimeException('the gateway answered HTTP ' . $status);
        }
    }
}
