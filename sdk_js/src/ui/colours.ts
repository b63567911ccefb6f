/** The widget's colour choices: one per colour, whatever the sizes (pure). */
import type { Variant } from "../api";

export interface ColourChoice {
  /** The variant this choice switches to. */
  variantId: string;
  label: string;
  /** The CSS colour of its dot, when the variant names one. */
  color: string | null;
  pressed: boolean;
}

/** Which look a variant has: its colour; variants with only a size look alike; others stand alone. */
function look(v: Variant): string {
  if (v.color) return `colour:${v.color.trim().toLowerCase()}`;
  return v.size ? "sizes" : `variant:${v.id}`;
}

/**
 * One choice per colour among the variants that can be tried on: sizes of one colour look the
 * same and are a choice for the size panel, not here. Switching colour keeps the current size
 * when the other colour has it. Fewer than two choices: nothing to choose.
 */
export function colourChoices(variants: readonly Variant[], currentId: string | null): ColourChoice[] {
  const current = variants.find((v) => v.id === currentId) ?? null;
  const groups = new Map<string, Variant[]>();
  for (const v of variants) {
    if (!v.hasAsset) continue;
    const key = look(v);
    groups.set(key, [...(groups.get(key) ?? []), v]);
  }
  if (groups.size < 2) return [];
  return [...groups.entries()].map(([key, members]) => {
    const pressed = current !== null && look(current) === key;
    const chosen = pressed ? current : (members.find((v) => current?.size && v.size === current.size) ?? members[0]);
    // Named as the colour's first variant names it, whichever size is chosen.
    const first = members[0];
    return { variantId: chosen.id, label: first.color ?? first.title ?? first.id, color: first.color, pressed };
  });
}
