/** Low-level JSON over HTTP: session cookie, CSRF header on writes, `{detail}` errors. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly body: unknown = null,
  ) {
    super(detail);
    this.name = "ApiError";
  }
}

const FALLBACK_MESSAGES: Record<number, string> = {
  400: "The request was rejected.",
  401: "You are not logged in.",
  403: "You do not have permission to do this.",
  404: "Not found.",
  409: "Someone else changed this in the meantime; reload and try again.",
  413: "The file is too big for this server.",
  429: "Too many requests; wait a moment and try again.",
};

/**
 * The message to show for an error body: `detail` when present, else DRF field errors flattened
 * to "field: message" lines, else a fallback for the status code.
 */
export function errorMessage(status: number, body: unknown): string {
  if (body && typeof body === "object" && !Array.isArray(body)) {
    const record = body as Record<string, unknown>;
    if (typeof record.detail === "string" && record.detail) return record.detail;
    const parts: string[] = [];
    for (const [field, value] of Object.entries(record)) {
      const text = Array.isArray(value) ? value.map(String).join(" ") : String(value);
      parts.push(field === "non_field_errors" ? text : `${field}: ${text}`);
    }
    if (parts.length) return parts.join("; ");
  }
  if (Array.isArray(body) && body.length) return body.map(String).join("; ");
  return FALLBACK_MESSAGES[status] ?? `The server answered ${status}.`;
}

export function parseJson(text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export interface RequestOptions {
  method?: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  signal?: AbortSignal;
}

export function withQuery(path: string, query?: RequestOptions["query"]): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== "") params.set(k, String(v));
  }
  const qs = params.toString();
  if (!qs) return path;
  return path + (path.includes("?") ? "&" : "?") + qs;
}

export class Http {
  constructor(private readonly csrfToken: () => string) {}

  get csrf(): string {
    return this.csrfToken();
  }

  async request<T>(path: string, options: RequestOptions = {}): Promise<T> {
    const method = options.method ?? "GET";
    const headers: Record<string, string> = { Accept: "application/json" };
    let body: BodyInit | undefined;
    if (options.body instanceof FormData) {
      body = options.body;
    } else if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    if (method !== "GET") headers["X-CSRFToken"] = this.csrfToken();
    let response: Response;
    try {
      response = await fetch(withQuery(path, options.query), {
        method,
        headers,
        body,
        credentials: "same-origin",
        signal: options.signal,
      });
    } catch (err) {
      if (err instanceof DOMException && err.name === "AbortError") throw err;
      throw new ApiError(0, "Cannot reach the server; check your connection.");
    }
    const parsed = parseJson(await response.text());
    if (!response.ok) {
      if (response.status === 401 || (response.status === 403 && isLoginRequired(parsed))) {
        // The session ended: go to the login page and come back here afterwards.
        window.location.assign(`/accounts/login/?next=${encodeURIComponent(location.pathname)}`);
      }
      throw new ApiError(response.status, errorMessage(response.status, parsed), parsed);
    }
    return parsed as T;
  }
}

function isLoginRequired(body: unknown): boolean {
  const detail = (body as { detail?: unknown } | null)?.detail;
  return typeof detail === "string" && /credentials were not provided/i.test(detail);
}
