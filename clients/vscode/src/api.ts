// The Pilot Feedback API over HTTP (Node's fetch, as VS Code's extension host has it).

export interface FeedbackBody {
  feedback_type: string;
  summary: string;
  description: string;
  priority?: string;
  source: "ide_plugin";
  context: Record<string, unknown>;
}

export interface Item {
  id: string;
  summary: string;
  status: string;
  feedback_type: string;
  priority: string;
  created_at: string;
  status_url?: string;
}

/** The API refused (its problem document's detail), or could not be reached (status 0). */
export class ApiError extends Error {
  constructor(readonly status: number, readonly detail: string, readonly fields: string[] = []) {
    super(fields.length ? `${detail} (${fields.join("; ")})` : detail);
  }
}

/** How long a request may take before it is given up: a hung server must not hang the command. */
export const TIMEOUT_MS = 30_000;

/** The origin (scheme, host and port) of an API address: a token belongs to one origin. */
export function originOf(baseUrl: string): string {
  let url: URL | undefined;
  try {
    url = new URL(baseUrl);
  } catch {
    url = undefined;
  }
  if (!url || !["http:", "https:"].includes(url.protocol)) {
    throw new ApiError(0, `The pilotFeedback.apiUrl setting is not an http(s) address: "${baseUrl}".`);
  }
  return url.origin;
}

export class Api {
  constructor(private readonly baseUrl: string, private readonly token: string, private readonly timeoutMs = TIMEOUT_MS) {
    originOf(baseUrl);
  }

  /** Sends feedback once: a retry under the same key makes no second item. */
  submit(body: FeedbackBody, idempotencyKey: string): Promise<Item> {
    return this.request("POST", "/feedback/", body, { "Idempotency-Key": idempotencyKey }) as Promise<Item>;
  }

  /** The caller's own items, newest first. */
  async mine(limit = 50): Promise<Item[]> {
    const page = (await this.request("GET", `/feedback/?mine=true&limit=${limit}`)) as { items: Item[] };
    return page.items;
  }

  private async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const url = this.baseUrl.replace(/\/+$/, "") + path;
    try {
      const response = await fetch(url, {
        method,
        headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/json", ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      return await this.read(response);
    } catch (error) {
      if (error instanceof ApiError) throw error;
      if (error instanceof Error && error.name === "TimeoutError") {
        throw new ApiError(0, `${this.baseUrl} did not answer within ${this.timeoutMs / 1000} seconds: try again later.`);
      }
      throw new ApiError(0, `Could not reach ${this.baseUrl}: check the pilotFeedback.apiUrl setting.`);
    }
  }

  /** The answer's JSON, or the API's refusal as an ApiError (the timeout covers the body too). */
  private async read(response: Response): Promise<any> {
    const text = await response.text();
    const doc = text ? safeJson(text) : null;
    if (!response.ok) {
      const detail = typeof doc?.detail === "string" ? doc.detail : `The API answered ${response.status}.`;
      const fields = Array.isArray(doc?.errors)
        ? doc.errors.map((e: { field?: string; message?: string }) => `${e.field}: ${e.message}`)
        : [];
      throw new ApiError(response.status, detail, fields);
    }
    return doc;
  }
}

function safeJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
