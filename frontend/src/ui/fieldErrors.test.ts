import { describe, expect, it } from "vitest";
import { fieldMessage } from "./fieldErrors";

describe("field messages", () => {
  it("names what is missing", () => {
    expect(fieldMessage("select", "Rasters", true, "x")).toBe("Choose rasters.");
    expect(fieldMessage("select", "", true, "x")).toBe("Choose one.");
    expect(fieldMessage("text", "Name:", true, "x")).toBe("Fill in name.");
    expect(fieldMessage("file", "", true, "x")).toBe("Choose a file.");
  });

  it("keeps the browser's message for other problems", () => {
    expect(fieldMessage("text", "Chip width", false, "Value must be less than or equal to 8192.")).toBe(
      "Value must be less than or equal to 8192.",
    );
  });
});
