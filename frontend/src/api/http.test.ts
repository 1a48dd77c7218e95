import { describe, expect, it } from "vitest";
import { errorMessage, withQuery } from "./http";

describe("errorMessage", () => {
  it("prefers detail, then DRF field errors, then a message for the status", () => {
    expect(errorMessage(400, { detail: "Not a raster: cannot open it." })).toBe("Not a raster: cannot open it.");
    expect(errorMessage(400, { name: ["This field is required."], non_field_errors: ["Bad."] })).toBe(
      "name: This field is required.; Bad.",
    );
    expect(errorMessage(413, null)).toMatch(/too big/);
    expect(errorMessage(502, null)).toBe("The server answered 502.");
  });

  it("adds query parameters, skipping empty ones", () => {
    expect(withQuery("/api/jobs/", { project: 3, status: undefined, kind: "" })).toBe("/api/jobs/?project=3");
    expect(withQuery("/api/x/?a=1", { b: 2 })).toBe("/api/x/?a=1&b=2");
  });
});
