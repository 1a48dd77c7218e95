/**
 * "Your account" (the user name in the top bar opens it): change the password, and make or revoke
 * the API token (POST /api/auth/token/rotate/, DELETE /api/auth/token/). A new token is shown once;
 * making another stops the previous one at once.
 */
import type { ApiClient } from "../api/client";
import { ApiError } from "../api/http";
import { h, setNotice } from "../ui/dom";
import "./account.css";

function message(err: unknown): string {
  return err instanceof ApiError ? err.detail : String(err);
}

function passwordForm(api: ApiClient): HTMLElement {
  const old = h("input", { type: "password", required: true, autocomplete: "current-password", testid: "password-old" });
  const next = h("input", { type: "password", required: true, autocomplete: "new-password", minlength: 8, testid: "password-new" });
  const again = h("input", { type: "password", required: true, autocomplete: "new-password", testid: "password-again" });
  const notice = h("p", { class: "notice", hidden: true, testid: "password-result" });
  const submit = h("button", { type: "submit", class: "btn btn-small btn-primary", testid: "password-submit" }, "Change password");
  const form = h("form", { class: "form" },
    h("label", {}, "Current password", old), h("label", {}, "New password", next), h("label", {}, "New password again", again),
    notice, h("div", { class: "actions" }, submit));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (next.value !== again.value) return setNotice(notice, "The two new passwords differ.");
    submit.disabled = true;
    api.http
      .request<void>("/api/auth/password/", { method: "POST", body: { old_password: old.value, new_password: next.value } })
      .then(() => {
        form.reset();
        setNotice(notice, "Password changed.", "info");
      })
      .catch((err: unknown) => setNotice(notice, message(err)))
      .finally(() => (submit.disabled = false));
  });
  return form;
}

function tokenSection(api: ApiClient): HTMLElement {
  const shown = h("input", { readonly: true, class: "token-value", testid: "token-value", hidden: true });
  const notice = h("p", { class: "notice", hidden: true, testid: "token-result" });
  const create = h("button", { type: "button", class: "btn btn-small", testid: "token-create" }, "Make a new token");
  const revoke = h("button", { type: "button", class: "btn btn-small btn-danger", testid: "token-revoke" }, "Revoke");
  create.addEventListener("click", () => {
    api.http.request<{ token: string; expires: string | null }>("/api/auth/token/rotate/", { method: "POST" }).then((t) => {
      shown.value = t.token;
      shown.hidden = false;
      shown.select();
      setNotice(notice, `Copy it now: it is not shown again. Send it as “Authorization: Token …”${t.expires ? `; it expires ${new Date(t.expires).toLocaleString()}` : ""}. Any older token stopped working.`, "info");
    }, (err: unknown) => setNotice(notice, message(err)));
  });
  revoke.addEventListener("click", () => {
    api.http.request<void>("/api/auth/token/", { method: "DELETE" }).then(() => {
      shown.value = "";
      shown.hidden = true;
      setNotice(notice, "Your API token is revoked: scripts using it are refused from now on.", "info");
    }, (err: unknown) => setNotice(notice, message(err)));
  });
  return h("div", { class: "form" },
    h("p", { class: "muted small" }, "Scripts and tools use an API token instead of your password. You have at most one."),
    h("div", { class: "row" }, create, revoke), shown, notice);
}

/** The account popover, anchored under the top bar; `toggle()` opens and closes it. */
export function accountPanel(api: ApiClient, username: string): { el: HTMLElement; toggle(): void } {
  const close = h("button", { type: "button", class: "icon-btn", title: "Close", testid: "account-close" }, "✕");
  const el = h("div", { class: "account-panel card", hidden: true, testid: "account-panel", role: "dialog", "aria-label": "Your account" },
    h("div", { class: "section-head" }, h("h2", {}, username), close),
    h("h3", {}, "Password"), passwordForm(api),
    h("h3", {}, "API token"), tokenSection(api));
  close.addEventListener("click", () => (el.hidden = true));
  return { el, toggle: () => (el.hidden = !el.hidden) };
}
