import { describe, expect, it } from "vitest";
import { isNewer, SeqTracker } from "./sync";

describe("SeqTracker", () => {
  it("starts once and advances only over contiguous seqs", () => {
    const t = new SeqTracker();
    t.see(3); // before any state: ignored
    expect(t.value).toBeNull();
    t.start(5);
    t.start(9); // a later load does not move it
    expect(t.value).toBe(5);
    t.see(6);
    expect(t.value).toBe(6);
    t.see(8); // 7 is missing
    expect(t.value).toBe(6);
    expect(t.hasGap).toBe(true);
    t.see(7); // it arrives late: the gap closes
    expect(t.value).toBe(8);
    expect(t.hasGap).toBe(false);
    t.see(4); // old replays change nothing
    expect(t.value).toBe(8);
  });

  it("jumps forward after a resync and keeps later seqs seen", () => {
    const t = new SeqTracker();
    t.start(1);
    t.see(5);
    t.see(7);
    t.reset(4); // the resync covered up to 4; 5 was seen already, 6 still missing
    expect(t.value).toBe(5);
    expect(t.hasGap).toBe(true);
    t.reset(10);
    expect(t.value).toBe(10);
    expect(t.hasGap).toBe(false);
  });
});

describe("isNewer", () => {
  it("applies unknown features and newer versions only", () => {
    expect(isNewer(1, undefined)).toBe(true);
    expect(isNewer(3, 2)).toBe(true);
    expect(isNewer(2, 2)).toBe(false);
    expect(isNewer(1, 2)).toBe(false);
  });
});
