// shopify.utils.validateHmac on an OAuth/install query (it also checks the timestamp: 90 s).
// In: {api_key, api_secret, query: {name: value}}. Out: {valid} or {valid: false, error}.
import { api, main } from './lib.mjs';

await main(async (input) => {
  try {
    return { valid: await api(input).utils.validateHmac(input.query ?? {}) };
  } catch (error) {
    return { valid: false, error: `${error.constructor.name}: ${error.message}` };
  }
});
