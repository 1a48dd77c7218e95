import { describe, expect, it } from "vitest";
import { matchRoute } from "./router";

describe("matchRoute", () => {
  it("routes the paths Django serves the shell for", () => {
    expect(matchRoute("/")).toEqual({ name: "projects" });
    expect(matchRoute("/projects/12/")).toEqual({ name: "project", projectId: 12, rest: "" });
    expect(matchRoute("/projects/12/jobs/4")).toEqual({ name: "project", projectId: 12, rest: "jobs/4" });
    expect(matchRoute("/nope/")).toEqual({ name: "notFound", path: "/nope/" });
  });
});
