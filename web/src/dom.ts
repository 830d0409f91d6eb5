// Small DOM helpers, so each view reads as what it shows.

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`The page is missing #${id}.`);
  return found as T;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; text?: string; attrs?: Record<string, string> } = {},
  children: (Node | string)[] = [],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined) node.textContent = props.text;
  for (const [name, value] of Object.entries(props.attrs ?? {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** Sets a <progress>-like bar (a div with role=progressbar and an inner fill). */
export function setBar(bar: HTMLElement, fraction: number, label: string): void {
  const clamped = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
  const percent = Math.round(clamped * 100);
  bar.setAttribute("aria-valuenow", String(percent));
  bar.setAttribute("aria-valuetext", label);
  const fill = bar.firstElementChild as HTMLElement | null;
  if (fill) fill.style.transform = `scaleX(${clamped})`;
}

/** Says something to screen readers through the page's polite live region. */
export function announce(message: string): void {
  const region = document.getElementById("announcer");
  if (!region) return;
  region.textContent = "";
  // A fresh text node after a tick is announced even when the words repeat.
  window.setTimeout(() => (region.textContent = message), 50);
}
