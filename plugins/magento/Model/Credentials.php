<?php

declare(strict_types=1);

namespace Tryon\TryOn\Model;

use Magento\Integration\Api\IntegrationServiceInterface;
use Magento\Integration\Api\OauthServiceInterface;

/**
 * The integration's OAuth consumer (key and secret): what the gateway received at
 * activation, so the secret signs the order posts without a second secret to manage.
 */
class Credentials
{
    public const INTEGRATION_NAME = 'Virtual try-on';

    public function __construct(
        private readonly IntegrationServiceInterface $integrations,
        private readonly OauthServiceInterface $oauth
    ) {
    }

    /**
     * [consumer key, consumer secret], or null before the integration is activated.
     *
     * @return array{0: string, 1: string}|null
     */
    public function consumer(): ?array
    {
        $integration = $this->integrations->findByName(self::INTEGRATION_NAME);
        $consumerId = $integration->getConsumerId();
        if (!$consumerId) {
            return null;
        }
        $consumer = $this->oauth->loadConsumer((int) $consumerId);
        $key = (string) $consumer->getKey();
        $secret = (string) $consumer->getSecret();
        return ($key !== '' && $secret !== '') ? [$key, $secret] : null;
    }
}
