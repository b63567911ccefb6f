<?php

/**
 * STUBS of Magento framework types for the unit tests (see README.md here): only the
 * methods this module calls, written from Magento's public API documentation.
 */

declare(strict_types=1);

namespace Magento\Framework {
    /** STUB: a bag of data with get/set/has magic accessors, as Magento's DataObject. */
    class DataObject
    {
        /** @param array<string, mixed> $data */
        public function __construct(protected array $data = [])
        {
        }

        public function getData(string $key = ''): mixed
        {
            return $key === '' ? $this->data : ($this->data[$key] ?? null);
        }

        public function setData(string $key, mixed $value): static
        {
            $this->data[$key] = $value;
            return $this;
        }

        /** @param array<int, mixed> $args */
        public function __call(string $method, array $args): mixed
        {
            $key = strtolower((string) preg_replace('/(.)([A-Z])/', '$1_$2', substr($method, 3)));
            if (str_starts_with($method, 'get')) {
                return $this->data[$key] ?? null;
            }
            if (str_starts_with($method, 'set')) {
                $this->data[$key] = $args[0] ?? null;
                return $this;
            }
            throw new \BadMethodCallException($method);
        }
    }

    /** STUB */
    class Event extends DataObject
    {
    }
}

namespace Magento\Framework\Event {
    use Magento\Framework\DataObject;
    use Magento\Framework\Event;

    /** STUB */
    class Observer extends DataObject
    {
        public function getEvent(): Event
        {
            $event = $this->data['event'] ?? null;
            return $event instanceof Event ? $event : new Event();
        }
    }

    /** STUB */
    interface ObserverInterface
    {
        public function execute(Observer $observer);
    }
}

namespace Magento\Framework\App {
    /** STUB */
    interface RequestInterface
    {
        public function getParam($key, $defaultValue = null);
    }
}

namespace Magento\Framework\App\Config {
    /** STUB */
    interface ScopeConfigInterface
    {
        public function getValue($path, $scopeType = 'default', $scopeCode = null);
    }
}

namespace Magento\Framework\HTTP {
    /** STUB */
    interface ClientInterface
    {
        public function setTimeout($value);

        public function setHeaders($headers);

        public function post($uri, $params);

        public function getStatus();

        public function getBody();
    }
}

namespace Magento\Framework\View\Element\Block {
    /** STUB */
    interface ArgumentInterface
    {
    }
}

namespace Magento\Store\Model {
    /** STUB */
    interface ScopeInterface
    {
        public const SCOPE_STORE = 'store';
    }

    /** STUB */
    interface StoreManagerInterface
    {
        public function getStore($storeId = null);
    }
}

namespace Psr\Log {
    /** STUB of the PSR-3 logger (only the levels the module uses). */
    interface LoggerInterface
    {
        public function warning($message, array $context = []);
    }
}

namespace {
    /** STUB of Magento's translation function. */
    function __(string $text): string
    {
        return $text;
    }
}
