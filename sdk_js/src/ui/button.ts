import { h } from "./dom";
import { applyStyles } from "./styles";

/**
 * A "Try it on" button in its own shadow root inside `target`, hidden until `show()` (when
 * the product turns out to have a try-on asset).
 */
export function createTrigger(target: Element, label: string, nonce: string | undefined, accent: string, onClick: (button: HTMLButtonElement) => void) {
  const host = h("span", { "data-tryon-trigger": "" });
  host.style.setProperty("--tryon-accent", accent);
  host.hidden = true;
  const root = host.attachShadow({ mode: "open" });
  applyStyles(root, nonce);
  const button = h("button", { type: "button", class: "trigger", "aria-haspopup": "dialog" }, label);
  button.addEventListener("click", () => onClick(button));
  root.appendChild(button);
  target.appendChild(host);
  return {
    host,
    button,
    show() {
      host.hidden = false;
    },
    remove() {
      host.remove();
    },
  };
}
