/** A few inline SVG icons (no icon font: it may be missing on the user's machine). */

const PATHS = {
  /** Zoom to layer: a target. */
  target: '<circle cx="8" cy="8" r="5"/><path d="M8 1v3M8 12v3M1 8h3M12 8h3"/>',
  /** Bands and stretch: sliders. */
  sliders: '<path d="M2 4h12M2 8h12M2 12h12"/><circle cx="5" cy="4" r="1.6" fill="#fff"/><circle cx="10" cy="8" r="1.6" fill="#fff"/><circle cx="7" cy="12" r="1.6" fill="#fff"/>',
  /** Delete / dismiss: a cross. */
  close: '<path d="M4 4l8 8M12 4l-8 8"/>',
  /** Fit all: four corners. */
  extent: '<path d="M2 6V2h4M10 2h4v4M14 10v4h-4M6 14H2v-4"/>',
} as const;

export type IconName = keyof typeof PATHS;

export function icon(name: IconName): SVGSVGElement {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("width", "14");
  svg.setAttribute("height", "14");
  svg.setAttribute("fill", "none");
  svg.setAttribute("stroke", "currentColor");
  svg.setAttribute("stroke-width", "1.5");
  svg.setAttribute("stroke-linecap", "round");
  svg.setAttribute("aria-hidden", "true");
  svg.innerHTML = PATHS[name];
  return svg;
}
