/** A failed request: the server's error code and message, or a network failure. */
export class ApiError extends Error {
  override name = "ApiError";

  constructor(
    /** HTTP status, or 0 when no response came. */
    readonly status: number,
    /** The server's error code (`PIN_WRONG`, `SKU_UNKNOWN`, ...), or `NETWORK` or `TIMEOUT`. */
    readonly code: string,
    message: string,
    /** The request field the server named, when it named one. */
    readonly field: string | null = null,
  ) {
    super(message);
  }
}

/** Time a request may take before it counts as failed. */
const DEFAULT_TIMEOUT_MS = 8000;

interface ErrorBody {
  error?: unknown;
  message?: unknown;
  field?: unknown;
}

function errorFromBody(status: number, body: ErrorBody | null, fallback: string): ApiError {
  // fastify's own 404 response has `error: "Not Found"` and no code of ours.
  let code = status === 404 ? "NOT_FOUND" : `HTTP_${status}`;
  if (typeof body?.error === "string" && /^[A-Z_]+$/.test(body.error)) code = body.error;
  const message = typeof body?.message === "string" ? body.message : fallback;
  const field = typeof body?.field === "string" ? body.field : null;
  return new ApiError(status, code, message, field);
}

/**
 * JSON client for the terminal's and the relay's HTTP APIs, relative to
 * the page's origin. With an HQ token it sends `Authorization: Bearer`.
 * Every failure becomes an `ApiError`, so screens can show it in place.
 */
export class ApiClient {
  readonly #token: string | null;

  constructor(token: string | null = null) {
    this.#token = token;
  }

  get token(): string | null {
    return this.#token;
  }

  get<T>(path: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<T> {
    return this.#request<T>("GET", path, undefined, timeoutMs);
  }

  post<T>(path: string, body: unknown, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<T> {
    return this.#request<T>("POST", path, body, timeoutMs);
  }

  delete<T>(path: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<T> {
    return this.#request<T>("DELETE", path, undefined, timeoutMs);
  }

  async #request<T>(method: string, path: string, body: unknown, timeoutMs: number): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const timedOut = error instanceof DOMException && error.name === "TimeoutError";
      throw new ApiError(0, timedOut ? "TIMEOUT" : "NETWORK", (error as Error).message);
    }
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (!response.ok) throw errorFromBody(response.status, parsed as ErrorBody | null, text.slice(0, 300) || response.statusText);
    return parsed as T;
  }
}
