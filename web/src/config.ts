// Where the API lives. The deploy writes config.json next to the page; locally it says ""
// (same origin). Nothing else in the page assumes the API, the page and the bucket share one.

export interface PageConfig {
  apiBaseUrl: string;
}

export async function loadConfig(): Promise<PageConfig> {
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (!response.ok) return { apiBaseUrl: "" };
    const body = (await response.json()) as Partial<PageConfig>;
    return { apiBaseUrl: (body.apiBaseUrl ?? "").replace(/\/+$/, "") };
  } catch {
    return { apiBaseUrl: "" };
  }
}
