<?php

declare(strict_types=1);

namespace Tryon\TryOn\Test\Unit\Model;

use PHPUnit\Framework\TestCase;
use Tryon\TryOn\Model\Signer;

/**
 * The shared vector (Test/Fixtures/signature-vector.json): the gateway's pytest suite checks
 * the same file against gateway/platforms/magento/signing.py.
 */
class SignerTest extends TestCase
{
    /** @return array<string, string> */
    private function vector(): array
    {
        $raw = file_get_contents(dirname(__DIR__, 2) . '/Fixtures/signature-vector.json');
        $this->assertIsString($raw);
        $vector = json_decode($raw, true, 512, JSON_THROW_ON_ERROR);
        $this->assertIsArray($vector);
        return $vector;
    }

    public function testTheSharedVector(): void
    {
        $v = $this->vector();
        $signed = (new Signer())->sign(
            $v['secret'],
            $v['timestamp'],
            $v['shop'],
            $v['consumer_key'],
            $v['body']
        );
        $this->assertSame($v['signature'], $signed);
    }

    public function testAnyChangeChangesTheSignature(): void
    {
        $v = $this->vector();
        $signer = new Signer();
        $args = [$v['secret'], $v['timestamp'], $v['shop'], $v['consumer_key'], $v['body']];
        $right = $signer->sign(...$args);
        foreach ([0 => 'x', 1 => '1', 2 => 'other.example', 3 => 'other', 4 => ' '] as $index => $change) {
            $changed = $args;
            $changed[$index] = $index === 4 ? $args[4] . $change : $change;
            $this->assertNotSame($right, $signer->sign(...$changed));
        }
    }

    public function testHeadersCarryEverythingTheGatewayChecks(): void
    {
        $v = $this->vector();
        $headers = (new Signer())->headers(
            $v['secret'],
            (int) $v['timestamp'],
            $v['shop'],
            $v['consumer_key'],
            $v['body']
        );
        $this->assertSame($v['signature'], $headers[Signer::SIGNATURE_HEADER]);
        $this->assertSame($v['timestamp'], $headers[Signer::TIMESTAMP_HEADER]);
        $this->assertSame($v['shop'], $headers[Signer::SHOP_HEADER]);
        $this->assertSame($v['consumer_key'], $headers[Signer::CONSUMER_HEADER]);
        $this->assertSame('application/json', $headers['Content-Type']);
    }
}
