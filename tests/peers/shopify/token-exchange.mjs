// shopify.auth.tokenExchange against a fake Shopify: the library's fetch is redirected from
// https://HOST/PATH to {base_url}/HOST/PATH (our test base URL convention). Prints the request
// the library made and what it made of the answer.
// In: {api_key, api_secret, shop, session_token, base_url, online?, expiring?}.
// Out: {requests: [{url, method, headers, body}], session: {...}} or {requests, error}.
import { setAbstractFetchFunc } from '@shopify/shopify-api/runtime';
import { RequestedTokenType } from '@shopify/shopify-api';
import { api, main } from './lib.mjs';

await main(async (input) => {
  const requests = [];
  setAbstractFetchFunc(async (url, init = {}) => {
    const target = new URL(url.toString());
    requests.push({
      url: target.toString(),
      method: init.method ?? 'GET',
      headers: Object.fromEntries(new Headers(init.headers ?? {}).entries()),
      body: typeof init.body === 'string' ? init.body : null,
    });
    const rewritten = `${input.base_url.replace(/\/$/, '')}/${target.host}${target.pathname}${target.search}`;
    return globalThis.fetch(rewritten, init);
  });
  try {
    const { session } = await api(input).auth.tokenExchange({
      shop: input.shop,
      sessionToken: input.session_token,
      requestedTokenType: input.online
        ? RequestedTokenType.OnlineAccessToken
        : RequestedTokenType.OfflineAccessToken,
      expiring: Boolean(input.expiring),
    });
    return { requests, session: session.toObject() };
  } catch (error) {
    return { requests, error: `${error.constructor.name}: ${error.message}` };
  }
});
