/**
 * Say next to the field what a form is missing. The browser checks `required` (and min/max) on
 * submit and, without this, shows a bubble that is easy to miss or, for a hidden or scrolled
 * field, nothing at all. Installed once for the whole document: every form gets it.
 */

/** What to show for an invalid control: "Choose a raster." rather than the browser's wording. */
export function fieldMessage(kind: "select" | "file" | "text", label: string, missing: boolean, browser: string): string {
  if (!missing) return browser;
  const what = label ? label.replace(/[:*]\s*$/, "").trim().toLowerCase() : "";
  if (kind === "select") return what ? `Choose ${what}.` : "Choose one.";
  if (kind === "file") return "Choose a file.";
  return what ? `Fill in ${what}.` : "This field is required.";
}

function labelOf(el: HTMLElement): string {
  const explicit = el.dataset.label ?? el.getAttribute("aria-label");
  if (explicit) return explicit;
  const label = el.closest("label");
  const first = label?.firstChild;
  if (first && first.nodeType === Node.TEXT_NODE && first.textContent?.trim()) return first.textContent.trim();
  const span = label?.querySelector(":scope > span:first-child");
  if (span?.textContent?.trim()) return span.textContent.trim();
  return el.getAttribute("placeholder") ?? "";
}

type Control = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

function errorAfter(el: Control): HTMLElement {
  const next = el.nextElementSibling;
  if (next instanceof HTMLElement && next.classList.contains("field-error")) return next;
  const span = document.createElement("span");
  span.className = "field-error";
  span.dataset.testid = "field-error";
  span.setAttribute("role", "alert");
  el.after(span);
  return span;
}

function clear(el: EventTarget | null): void {
  if (!(el instanceof HTMLElement)) return;
  const next = el.nextElementSibling;
  if (next instanceof HTMLElement && next.classList.contains("field-error")) next.remove();
  el.removeAttribute("aria-invalid");
}

export function installFieldErrors(doc: Document = document): void {
  doc.addEventListener(
    "invalid",
    (event) => {
      const el = event.target as Control;
      if (!(el instanceof HTMLElement)) return;
      event.preventDefault(); // our message instead of the bubble
      const kind = el instanceof HTMLSelectElement ? "select" : el.type === "file" ? "file" : "text";
      const span = errorAfter(el);
      span.textContent = fieldMessage(kind, labelOf(el), el.validity.valueMissing, el.validationMessage);
      el.setAttribute("aria-invalid", "true");
      if (el.dataset.testid) span.dataset.for = el.dataset.testid;
    },
    true,
  );
  for (const type of ["input", "change"]) doc.addEventListener(type, (e) => clear(e.target), true);
}
