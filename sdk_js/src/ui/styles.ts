/**
 * The widget's CSS. It is adopted as a constructable stylesheet, which a CSP without
 * 'unsafe-inline' for styles allows; browsers without them get a <style> with the page's nonce.
 */
export const CSS = `
:host([hidden]){display:none!important}
:host{all:initial;--a:var(--tryon-accent,#1f5eff);--fg:#14161a;--mut:#50555e;--bg:#fff;--line:#d7dae0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg)}
*{box-sizing:border-box}
[hidden]{display:none!important}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
button,a.btn,label.btn{font:inherit;cursor:pointer;border-radius:999px;padding:.6em 1.2em;border:1px solid var(--a);background:var(--a);color:#fff;text-decoration:none;display:inline-flex;align-items:center;justify-content:center;gap:.4em;min-height:44px}
button.ghost,a.ghost{background:transparent;color:var(--a)}
button.ghost[aria-pressed=true]{background:var(--a);color:#fff}
.extras{display:flex;flex-direction:column;gap:14px}
button:focus-visible,a:focus-visible,input:focus-visible{outline:3px solid var(--a);outline-offset:2px}
button[disabled]{opacity:.5;cursor:default}
.trigger{font-weight:600}
.backdrop{position:fixed;inset:0;background:rgba(10,12,16,.55);display:flex;align-items:center;justify-content:center;padding:16px;z-index:2147483000}
.dialog{background:var(--bg);border-radius:16px;width:min(720px,100%);max-height:calc(100vh - 32px);overflow:auto;box-shadow:0 20px 60px rgba(0,0,0,.35);display:flex;flex-direction:column}
.head{display:flex;align-items:center;justify-content:space-between;gap:8px;padding:14px 16px;border-bottom:1px solid var(--line)}
.head h2{font-size:1.1em;margin:0}
.head .x{background:transparent;color:var(--fg);border:0;font-size:1.5em;line-height:1;padding:0;width:44px}
.body{padding:16px;display:flex;flex-direction:column;gap:14px}
.product{color:var(--mut);margin:0}
.modes{display:grid;gap:10px;grid-template-columns:repeat(auto-fit,minmax(180px,1fr))}
.modes button{flex-direction:column;border-radius:12px;padding:14px;background:#f3f5fa;color:var(--fg);border:1px solid var(--line);text-align:center}
.modes button small{color:var(--mut)}
.swatches{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin:0;padding:0;border:0}
.swatches legend{color:var(--mut);margin-bottom:4px}
.swatches button{background:#fff;color:var(--fg);border:1px solid var(--line);padding:.35em .9em;min-height:36px}
.swatches button[aria-pressed=true]{border:2px solid var(--a);font-weight:600}
.dot{width:14px;height:14px;border-radius:50%;border:1px solid rgba(0,0,0,.25);display:inline-block}
.stage{position:relative;background:#0d0f12;border-radius:12px;overflow:hidden;min-height:200px;display:flex;align-items:center;justify-content:center}
.stage canvas{display:block;width:100%;height:auto;max-height:60vh;object-fit:contain}
.stage video{position:absolute;width:1px;height:1px;opacity:0;pointer-events:none}
.mirrored{transform:scaleX(-1)}
.overlay{position:absolute;inset:auto 0 0 0;padding:10px;color:#fff;background:linear-gradient(transparent,rgba(0,0,0,.7));text-align:center}
.bar{display:flex;flex-wrap:wrap;gap:8px;align-items:center}
.bar .grow{flex:1}
.cart-note{font-size:14px;color:#333}
.faces{display:flex;flex-wrap:wrap;gap:10px}
.faces button{padding:4px;border-radius:12px;background:#fff;border:2px solid var(--line)}
.faces button[aria-pressed=true]{border-color:var(--a);box-shadow:0 0 0 2px var(--a)}
.faces canvas{display:block;width:72px;height:72px;border-radius:8px}
.pick-face{margin:0}
.note{background:#f3f5fa;border-radius:8px;padding:10px 12px;margin:0;font-size:14px}
.choice button[aria-pressed=true]{font-weight:600}
.status{color:var(--mut);margin:0;min-height:1.45em}
.error{border-left:4px solid #c62828;background:#fdecea;color:#5f1111;padding:12px;border-radius:8px;margin:0}
.consent{background:#f3f5fa;border-radius:12px;padding:14px;margin:0}
.size,.face{border:1px solid var(--line);border-radius:12px;padding:12px}
.size h3{margin:0 0 4px;font-size:1em}
.size p,.face p{margin:0}
.models{display:grid;gap:10px;grid-template-columns:repeat(auto-fill,minmax(120px,1fr))}
.models button{flex-direction:column;border-radius:12px;padding:6px;background:#fff;color:var(--fg);border:1px solid var(--line)}
.models .thumb{width:100%;aspect-ratio:3/4;object-fit:cover;border-radius:8px}
.next ul,.looks{list-style:none;margin:0;padding:0;display:flex;gap:8px;overflow-x:auto}
.next h3,.face h3{margin:0 0 6px;font-size:1em}
.next button{flex-direction:column;background:#fff;color:var(--fg);border:1px solid var(--line);border-radius:12px;min-width:130px}
.next small{color:#1b6e2f}
.looks{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr))}
.looks figure{margin:0}.looks canvas{width:100%;border-radius:8px;display:block}
.spinner{width:28px;height:28px;border:3px solid rgba(255,255,255,.3);border-top-color:#fff;border-radius:50%;animation:spin 1s linear infinite}
@keyframes spin{to{transform:rotate(360deg)}}
@media (prefers-reduced-motion:reduce){.spinner{animation:none}}
@media (max-width:600px){.backdrop{padding:0;align-items:stretch}.dialog{border-radius:0;max-height:none;height:100%;width:100%}.stage canvas{max-height:55vh}.bar button,.bar a{flex:1}}
`;

let shared: CSSStyleSheet | null = null;

/** Give `root` the widget's styles. */
export function applyStyles(root: ShadowRoot, nonce: string | undefined): void {
  const canAdopt =
    "adoptedStyleSheets" in Document.prototype && typeof CSSStyleSheet !== "undefined" && "replaceSync" in CSSStyleSheet.prototype;
  if (canAdopt) {
    if (!shared) {
      shared = new CSSStyleSheet();
      shared.replaceSync(CSS);
    }
    root.adoptedStyleSheets = [shared];
    return;
  }
  const style = document.createElement("style");
  if (nonce) style.setAttribute("nonce", nonce);
  style.textContent = CSS;
  root.appendChild(style);
}
