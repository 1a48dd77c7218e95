/** Typed client of the Rasterlab API (one method per endpoint the app uses). */
import { Http, withQuery } from "./http";
import type {
  Job,
  JobFilter,
  Member,
  Paginated,
  Project,
  ProjectInput,
  Raster,
  Role,
  TileJson,
} from "./types";
import { uploadMultipart, type UploadHandle, type UploadProgress } from "./upload";

/** Safety cap when following `next` links (100 per page -> 5000 items). */
const MAX_PAGES = 50;

export class ApiClient {
  readonly http: Http;

  constructor(csrfToken: () => string) {
    this.http = new Http(csrfToken);
  }

  /** Every item of a paginated list, following `next` links. */
  async listAll<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T[]> {
    const items: T[] = [];
    let url: string | null = withQuery(path, query);
    for (let page = 0; url && page < MAX_PAGES; page += 1) {
      const data: Paginated<T> | T[] = await this.http.request<Paginated<T> | T[]>(url);
      if (Array.isArray(data)) return data; // tolerate an unpaginated list
      items.push(...data.results);
      url = data.next ? sameOriginPath(data.next) : null;
    }
    return items;
  }

  // projects
  listProjects(): Promise<Project[]> {
    return this.listAll<Project>("/api/projects/");
  }
  getProject(id: number): Promise<Project> {
    return this.http.request<Project>(`/api/projects/${id}/`);
  }
  createProject(input: ProjectInput): Promise<Project> {
    return this.http.request<Project>("/api/projects/", { method: "POST", body: input });
  }
  updateProject(id: number, patch: Partial<ProjectInput>): Promise<Project> {
    return this.http.request<Project>(`/api/projects/${id}/`, { method: "PATCH", body: patch });
  }
  deleteProject(id: number): Promise<void> {
    return this.http.request<void>(`/api/projects/${id}/`, { method: "DELETE" });
  }
  listMembers(projectId: number): Promise<Member[]> {
    return this.listAll<Member>(`/api/projects/${projectId}/members/`);
  }
  /** Add (by username or e-mail) or re-role a member; `invite` makes an account for a new e-mail. */
  addMember(projectId: number, username: string, role: Role, invite = false): Promise<Member> {
    return this.http.request<Member>(`/api/projects/${projectId}/members/`, {
      method: "POST",
      body: { username, role, invite },
    });
  }
  removeMember(projectId: number, username: string): Promise<void> {
    // The username goes both in the body and the query: some proxies drop DELETE bodies.
    return this.http.request<void>(`/api/projects/${projectId}/members/`, {
      method: "DELETE",
      body: { username },
      query: { username },
    });
  }

  // rasters
  listRasters(projectId: number): Promise<Raster[]> {
    return this.listAll<Raster>("/api/rasters/", { project: projectId });
  }
  getRaster(id: number): Promise<Raster> {
    return this.http.request<Raster>(`/api/rasters/${id}/`);
  }
  deleteRaster(id: number): Promise<void> {
    return this.http.request<void>(`/api/rasters/${id}/`, { method: "DELETE" });
  }
  tileJson(id: number): Promise<TileJson> {
    return this.http.request<TileJson>(`/api/rasters/${id}/tilejson.json`);
  }
  uploadRaster(
    projectId: number,
    file: File,
    name: string,
    onProgress: (p: UploadProgress) => void,
  ): UploadHandle<Raster> {
    const form = new FormData();
    form.append("project", String(projectId));
    form.append("file", file, file.name);
    if (name.trim()) form.append("name", name.trim());
    return uploadMultipart<Raster>("/api/rasters/", form, this.http.csrf, onProgress);
  }

  // jobs
  listJobs(filter: JobFilter): Promise<Job[]> {
    return this.listAll<Job>("/api/jobs/", {
      project: filter.project,
      status: filter.status,
      kind: filter.kind,
    });
  }
  getJob(id: number): Promise<Job> {
    return this.http.request<Job>(`/api/jobs/${id}/`);
  }
  cancelJob(id: number): Promise<Job> {
    return this.http.request<Job>(`/api/jobs/${id}/cancel/`, { method: "POST" });
  }
}

/** DRF builds absolute `next` URLs; keep only path + query so a proxy's host never leaks in. */
function sameOriginPath(url: string): string {
  try {
    const u = new URL(url, window.location.origin);
    return u.pathname + u.search;
  } catch {
    return url;
  }
}
