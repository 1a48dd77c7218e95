import { describe, expect, it } from "vitest";
import { stepPoints } from "./charts";

describe("precision-recall step curve", () => {
  it("holds each precision up to its recall, then drops", () => {
    expect(stepPoints([0.25, 0.5, 0.75], [1, 1, 0.6])).toEqual([[0, 1], [0.25, 1], [0.5, 1], [0.5, 0.6], [0.75, 0.6]]);
  });
  it("draws nothing without points", () => {
    expect(stepPoints([], [])).toEqual([]);
  });
});
