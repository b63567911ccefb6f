<?php

/**
 * STUB for the unit tests only (see README.md in this folder): not Magento's code.
 */

declare(strict_types=1);

namespace Magento\Framework;

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
