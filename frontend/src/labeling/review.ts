/** The review box of the Labels panel: accept / reject the selection, counts per status and per
 * user (from GET /api/layers/{id}/), and export links that can take only accepted features. */
import { h, replace } from "../ui/dom";
import type { Layer } from "./types";

export interface ReviewBox {
  el: HTMLElement;
  render(layer: Layer): void;
  setSelection(count: number): void;
  /** "&review_status=accepted" when the export is to take only accepted features. */
  exportQuery(): string;
}

export function reviewBox(canReview: boolean, review: (status: "accepted" | "rejected" | "") => void, onExportChoice: () => void): ReviewBox {
  const accept = h("button", { type: "button", class: "btn btn-small review-accept", testid: "review-accept", title: "Accept the selected labels (A)", disabled: true }, "✓ Accept");
  const reject = h("button", { type: "button", class: "btn btn-small review-reject", testid: "review-reject", title: "Reject the selected labels (X)", disabled: true }, "✗ Reject");
  const clear = h("button", { type: "button", class: "btn btn-small btn-quiet", testid: "review-clear", title: "Back to not reviewed", disabled: true }, "Clear");
  accept.addEventListener("click", () => review("accepted"));
  reject.addEventListener("click", () => review("rejected"));
  clear.addEventListener("click", () => review(""));
  const counts = h("div", { class: "review-counts small", testid: "review-counts" });
  const users = h("tbody", {});
  const usersTable = h("table", { class: "grid compact", testid: "review-users" },
    h("thead", {}, h("tr", {}, h("th", {}, "User"), h("th", { class: "right" }, "Labels"), h("th", { class: "right" }, "Accepted"), h("th", { class: "right" }, "Rejected"), h("th", { class: "right" }, "Reviewed"))), users);
  const onlyAccepted = h("input", { type: "checkbox", testid: "export-only-accepted" });
  onlyAccepted.addEventListener("change", onExportChoice);
  return {
    el: h("div", {}, canReview ? h("div", { class: "row" }, accept, reject, clear) : null, counts, usersTable,
      h("label", { class: "check small" }, onlyAccepted, h("span", {}, "Exports take only accepted labels"))),
    render(layer) {
      const c = layer.review_counts ?? { unreviewed: 0, accepted: 0, rejected: 0 };
      replace(counts,
        h("span", { class: "review review-accepted", "data-status": "accepted" }, `${c.accepted} accepted`), " · ",
        h("span", { class: "review review-rejected", "data-status": "rejected" }, `${c.rejected} rejected`), " · ",
        h("span", { class: "review", "data-status": "unreviewed" }, `${c.unreviewed} to review`));
      replace(users, (layer.user_counts ?? []).map((u) =>
        h("tr", { testid: "review-user", "data-user": u.user ?? "" }, h("td", {}, u.user ?? "(model / import)"), h("td", { class: "right" }, u.labels),
          h("td", { class: "right" }, u.accepted), h("td", { class: "right" }, u.rejected), h("td", { class: "right" }, u.reviewed))));
      usersTable.hidden = !(layer.user_counts ?? []).length;
    },
    setSelection(count) {
      for (const b of [accept, reject, clear]) b.disabled = count === 0;
    },
    exportQuery: () => (onlyAccepted.checked ? "&review_status=accepted" : ""),
  };
}
