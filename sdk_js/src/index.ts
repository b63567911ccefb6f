/**
 * The ES module build: `import TryOn from ".../sdk/v1/tryon.mjs"`.
 * The API base defaults to the origin this module was loaded from.
 */
import { createTryOn } from "./sdk";

export type * from "./types";

const TryOn = createTryOn(new URL(import.meta.url).origin);

export { TryOn };
export default TryOn;
