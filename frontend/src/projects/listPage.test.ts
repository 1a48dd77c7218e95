import { describe, expect, it } from "vitest";
import { classesFrom } from "./listPage";

describe("classes typed when creating a project", () => {
  it("numbers the names from 1 with distinct colours", () => {
    const classes = classesFrom(" Tree, Snag,, Tree ,Building ");
    expect(classes.map((c) => [c.value, c.name])).toEqual([[1, "Tree"], [2, "Snag"], [3, "Building"]]);
    expect(new Set(classes.map((c) => c.color.join())).size).toBe(3);
    expect(classesFrom("  ")).toEqual([]);
  });
});
