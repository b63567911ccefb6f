/**
 * Holdout experiments (docs/analytics.md, "Holdout"): a random first-party shopper id kept in
 * this store's localStorage (in memory where storage is refused), and the arm it falls in.
 * The gateway computes the same assignment (`analytics/uplift.py`) and refuses events whose
 * arm does not match it.
 */
import { uuid4 } from "./analytics";

export type Arm = "treatment" | "holdout";

export interface Experiment {
  id: string;
  salt: string;
  holdoutShare: number;
}

const KEY = "tryon_shopper";
const ID = /^[A-Za-z0-9_-]{8,64}$/;
let memory: string | null = null;

/** This browser's shopper id for this store: read, or made and kept, once per page. */
export function shopperId(storage: () => Storage | null = () => localStorage): string {
  if (memory) return memory;
  let id: string | null = null;
  try {
    const s = storage();
    id = s?.getItem(KEY) ?? null;
    if (!id || !ID.test(id)) {
      id = uuid4();
      s?.setItem(KEY, id);
    }
  } catch {
    // Storage refused (private mode, blocked cookies): this page's memory only.
    id = id && ID.test(id) ? id : uuid4();
  }
  return (memory = id);
}

/** The shopper's place in [0, 1): FNV-1a over `salt:id`, then MurmurHash3's finaliser. */
export function bucket(id: string, salt: string): number {
  const s = `${salt}:${id}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

export function assign(id: string, e: Experiment): Arm {
  return bucket(id, e.salt) < e.holdoutShare ? "holdout" : "treatment";
}

/** Forget the kept id (tests). */
export function resetShopper(): void {
  memory = null;
}
