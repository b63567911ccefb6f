// shopify.session.decodeSessionToken (HS256 only, audience = api key, 10 s leeway).
// In: {api_key, api_secret, token}. Out: {valid: true, payload} or {valid: false, error}.
import { api, main } from './lib.mjs';

await main(async (input) => {
  try {
    return { valid: true, payload: await api(input).session.decodeSessionToken(input.token) };
  } catch (error) {
    return { valid: false, error: `${error.constructor.name}: ${error.message}` };
  }
});
