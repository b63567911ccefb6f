// shopify.webhooks.validate on a request built from {headers, body}: body is the raw text (the
// library hashes the UTF-8 encoding of a string; Shopify's bodies are JSON, so UTF-8). In: {api_key, api_secret, headers, body} or
// {api_key, api_secret, cases: [{headers, body}, ...]} (one process for many). Out: the
// library's result, or {results: [...]} for cases.
import { api, main } from './lib.mjs';

await main(async (input) => {
  const shopify = api(input);
  if (Array.isArray(input.cases)) {
    const results = [];
    for (const one of input.cases) results.push(await validate(shopify, one));
    return { results };
  }
  return await validate(shopify, input);
});

async function validate(shopify, { headers = {}, body = '' }) {
  const rawBody = body;
  const rawRequest = { method: 'POST', url: '/webhooks', headers: lowerCased(headers) };
  return await shopify.webhooks.validate({ rawBody, rawRequest });
}

function lowerCased(headers) {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}
