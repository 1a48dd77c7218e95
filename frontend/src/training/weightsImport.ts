/** "Add a weights file" in the Train panel: for an administrator whose model would start from
 * random weights (offline or air-gapped machines), upload a torchvision / registry checkpoint
 * into the weights cache (POST /api/weights/) instead of using manage.py import_weights. */
import type { ApiClient } from "../api/client";
import { ApiError } from "../api/http";
import { h, replace } from "../ui/dom";
import { importWeights } from "./api";

export interface WeightsImport {
  element: HTMLElement;
  /** Show the form only where it helps: a random start, and a user allowed to add weights. */
  show(visible: boolean): void;
}

export function weightsImport(api: ApiClient, onImported: () => void): WeightsImport {
  const file = h("input", { type: "file", accept: ".pth,.pt", testid: "weights-file" });
  const add = h("button", { type: "button", class: "btn btn-small", testid: "weights-add" }, "Add weights file");
  const status = h("span", { class: "small", testid: "weights-status" });
  const element = h(
    "div",
    { class: "train-weights", hidden: true, testid: "weights-import" },
    h("span", { class: "small muted" }, "Administrator: bring the ImageNet checkpoint in from another machine "),
    file,
    add,
    status,
  );
  add.addEventListener("click", () => {
    const chosen = file.files?.[0];
    if (!chosen) {
      replace(status, "Choose a .pth file first.");
      return;
    }
    add.disabled = true;
    replace(status, `Uploading ${chosen.name}…`);
    importWeights(api, chosen)
      .then((added) => {
        replace(status, `Added ${added.filename} (${added.backbone}).`);
        file.value = "";
        onImported();
      })
      .catch((err: unknown) => replace(status, err instanceof ApiError ? err.detail : String(err)))
      .finally(() => { add.disabled = false; });
  });
  return {
    element,
    show(visible: boolean) {
      element.hidden = !visible;
      if (!visible) replace(status, "");
    },
  };
}
