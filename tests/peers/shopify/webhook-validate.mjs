// shopify.webhooks.validate on a request built from {headers, body} (body: the raw text).
// In: {api_key, api_secret, headers: {name: value}, body}. Out: the library's result.
import { api, main } from './lib.mjs';

await main(async (input) => {
  const rawRequest = { method: 'POST', url: '/webhooks', headers: lowerCased(input.headers ?? {}) };
  return await api(input).webhooks.validate({ rawBody: input.body ?? '', rawRequest });
});

function lowerCased(headers) {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}
