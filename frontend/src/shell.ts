/** The page frame: top bar (brand, breadcrumb, user with the account panel, logout) and the outlet
 * pages render into. */
import { accountPanel } from "./account/accountPanel";
import type { ApiClient } from "./api/client";
import type { AppConfig } from "./config";
import { csrfToken } from "./config";
import { h, replace } from "./ui/dom";

export interface AppContext {
  config: AppConfig;
  api: ApiClient;
  /** Set the breadcrumb after "Projects" (e.g. the project name), or clear it. */
  setCrumb(text: string | null): void;
  /** Extra items on the right of the top bar for the current page (e.g. a live indicator). */
  setStatus(node: Node | null): void;
}

/** A mounted page; dispose() runs when the user navigates away. */
export interface Page {
  dispose(): void;
}

export function renderShell(root: HTMLElement, config: AppConfig, api: ApiClient): {
  outlet: HTMLElement;
  ctx: AppContext;
} {
  const crumb = h("span", { class: "crumb", testid: "crumb" });
  const status = h("span", { class: "topbar-status" });
  const logout = h(
    "form",
    { method: "post", action: config.logoutUrl, class: "logout-form", testid: "logout-form" },
    h("input", { type: "hidden", name: "csrfmiddlewaretoken", value: config.csrfToken }),
    h("button", { type: "submit", class: "btn btn-quiet", testid: "logout" }, "Log out"),
  );
  // The token in the form must be current when it is submitted (Django rotates it at login).
  logout.addEventListener("submit", () => {
    const input = logout.querySelector<HTMLInputElement>("input[name=csrfmiddlewaretoken]");
    if (input) input.value = csrfToken(config);
  });
  const account = accountPanel(api, config.user.username);
  const userButton = h("button", { type: "button", class: "user user-btn", testid: "user", title: "Your account: password and API token", onclick: () => account.toggle() }, config.user.username);
  const topbar = h(
    "header",
    { class: "topbar" },
    h("a", { href: "/", "data-link": true, class: "brand", testid: "home" }, "Rasterlab"),
    h("nav", { class: "crumbs" }, h("a", { href: "/", "data-link": true }, "Projects"), crumb),
    h("span", { class: "spacer" }),
    status,
    userButton,
    logout,
  );
  const outlet = h("main", { class: "outlet" });
  replace(root, topbar, account.el, outlet);
  root.classList.add("app");
  const ctx: AppContext = {
    config,
    api,
    setCrumb(text) {
      replace(crumb, text ? ["›", h("span", { class: "crumb-current" }, text)] : []);
    },
    setStatus(node) {
      replace(status, node);
    },
  };
  return { outlet, ctx };
}
