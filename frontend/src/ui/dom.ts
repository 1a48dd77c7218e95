/** Tiny typed DOM builder: `h("button", {class: "btn", testid: "save", onclick}, "Save")`. */

type Child = Node | string | number | null | undefined | false;

export interface Attrs {
  class?: string;
  /** Rendered as data-testid: stable hooks for the e2e tests. */
  testid?: string;
  style?: string;
  [name: string]: unknown;
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "testid") {
      el.dataset.testid = String(value);
    } else if (key === "class") {
      el.className = String(value);
    } else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value as EventListener);
    } else if (key in el && typeof value !== "string") {
      // Properties such as `checked`, `value` (number), `disabled`.
      (el as unknown as Record<string, unknown>)[key] = value;
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace all children of `parent`. */
export function replace(parent: Node, ...children: (Child | Child[])[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, ...children);
}

/** A small inline error/notice line; empty text hides it. */
export function setNotice(el: HTMLElement, text: string, kind: "error" | "info" = "error"): void {
  el.textContent = text;
  el.className = `notice notice-${kind}`;
  el.hidden = text === "";
}
