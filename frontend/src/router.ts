/**
 * A tiny router on location.pathname with history.pushState. Django serves the same shell for
 * `/` and `/projects/<id>/...`, so every route here must also exist there.
 */

export type Route =
  | { name: "projects" }
  | { name: "project"; projectId: number; rest: string }
  | { name: "notFound"; path: string };

export function matchRoute(pathname: string): Route {
  if (pathname === "/" || pathname === "") return { name: "projects" };
  const m = /^\/projects\/(\d+)(?:\/(.*))?$/.exec(pathname);
  if (m) return { name: "project", projectId: Number(m[1]), rest: m[2] ?? "" };
  return { name: "notFound", path: pathname };
}

export function projectPath(id: number): string {
  return `/projects/${id}/`;
}

type Listener = () => void;
const listeners = new Set<Listener>();

export function onNavigate(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function navigate(path: string, replace = false): void {
  if (path === location.pathname + location.search) return;
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  listeners.forEach((fn) => fn());
}

/** Follow popstate and clicks on same-origin `<a data-link>` without reloading the page. */
export function startRouter(): void {
  window.addEventListener("popstate", () => listeners.forEach((fn) => fn()));
  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const target = event.target as Element | null;
    const link = target?.closest?.("a[data-link]") as HTMLAnchorElement | null;
    if (!link || link.origin !== location.origin || link.target) return;
    event.preventDefault();
    navigate(link.pathname + link.search);
  });
}
