/**
 * Page configuration rendered by Django into
 * `<script id="rasterlab-config" type="application/json">{"user", "csrfToken", "logoutUrl", "basemapUrl"?,
 * "basemapAttribution"?}</script>`.
 */
import { OSM_ATTRIBUTION, OSM_URL } from "./map/basemap";

export interface AppConfig {
  user: { id: number | null; username: string };
  csrfToken: string;
  logoutUrl: string;
  /** XYZ template of the basemap ("" = none); absent: OpenStreetMap. */
  basemapUrl: string;
  basemapAttribution: string;
}

function cookie(name: string): string {
  const match = document.cookie.split("; ").find((c) => c.startsWith(`${name}=`));
  return match ? decodeURIComponent(match.slice(name.length + 1)) : "";
}

export function readConfig(doc: Document = document): AppConfig {
  let raw: Partial<AppConfig> = {};
  const el = doc.getElementById("rasterlab-config");
  if (el?.textContent) {
    try {
      raw = JSON.parse(el.textContent) as Partial<AppConfig>;
    } catch {
      console.error("rasterlab: the rasterlab-config script is not valid JSON");
    }
  }
  return {
    user: { id: raw.user?.id ?? null, username: raw.user?.username ?? "" },
    // The Vite dev shell has no config: fall back to Django's csrftoken cookie.
    csrfToken: raw.csrfToken || cookie("csrftoken"),
    logoutUrl: raw.logoutUrl || "/accounts/logout/",
    basemapUrl: raw.basemapUrl ?? OSM_URL,
    basemapAttribution: raw.basemapAttribution ?? (raw.basemapUrl === undefined || raw.basemapUrl === OSM_URL ? OSM_ATTRIBUTION : ""),
  };
}

/** The CSRF token to send: the cookie wins when present, since Django rotates it at login. */
export function csrfToken(config: AppConfig): string {
  return cookie("csrftoken") || config.csrfToken;
}
