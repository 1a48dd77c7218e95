import { describe, expect, it } from "vitest";
import { epochTicks } from "./chart";

describe("loss chart epoch ticks", () => {
  it("shows every epoch when there are few", () => {
    expect(epochTicks(1, 1)).toEqual([1]);
    expect(epochTicks(1, 2)).toEqual([1, 2]);
    expect(epochTicks(1, 5)).toEqual([1, 2, 3, 4, 5]);
  });

  it("thins long runs to a handful, keeping the first and the last epoch", () => {
    const ticks = epochTicks(1, 100);
    expect(ticks.length).toBeLessThanOrEqual(6);
    expect(ticks[0]).toBe(1);
    expect(ticks[ticks.length - 1]).toBe(100);
    expect([...ticks].sort((a, b) => a - b)).toEqual(ticks);
    // The last regular tick is not crowded against the final epoch.
    expect(ticks[ticks.length - 1] - ticks[ticks.length - 2]).toBeGreaterThanOrEqual(10);
  });
});
