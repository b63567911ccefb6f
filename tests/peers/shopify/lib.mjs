// Shared by the peer scripts: read one JSON object on stdin, build Shopify's library for the
// app it names, print one JSON object on stdout. A script that fails prints {"error": ...}
// and exits 1, so the Python side (tests/support/peers.py) sees why.
import '@shopify/shopify-api/adapters/node';
import { shopifyApi, ApiVersion, LogSeverity } from '@shopify/shopify-api';

export async function readInput() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

export function api(input) {
  return shopifyApi({
    apiKey: input.api_key,
    apiSecretKey: input.api_secret,
    scopes: input.scopes ?? ['read_products'],
    hostName: input.host_name ?? 'tryon.example',
    apiVersion: input.api_version ?? ApiVersion.October25,
    isEmbeddedApp: true,
    logger: { level: LogSeverity.Error, log: async () => {} },
  });
}

export function print(value) {
  process.stdout.write(JSON.stringify(value) + '\n');
}

export async function main(run) {
  try {
    print(await run(await readInput()));
  } catch (error) {
    print({ error: `${error?.constructor?.name ?? 'Error'}: ${error?.message ?? error}` });
    process.exitCode = 1;
  }
}
