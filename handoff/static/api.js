// Fetch wrapper for the handoff service (docs/api.md).
// Every error becomes an ApiError whose `message` is the service's JSON
// `message` (or a clear fallback when the service could not be reached or did
// not answer JSON), so pages can show it as-is.

export class ApiError extends Error {
  constructor(status, code, message, body = null) {
    super(message);
    this.name = "ApiError";
    this.status = status; // HTTP status, 0 when the request never got an answer
    this.code = code; // the service's `error` value, e.g. "already_assigned"
    this.body = body;
  }
}

const NETWORK_MESSAGE =
  "서비스에 연결할 수 없습니다 / Cannot reach the handoff service";

/**
 * Call the service. `body` is sent as JSON, or as it is when it is FormData (a
 * file upload, multipart); `token` as a Bearer token. Resolves with the parsed
 * JSON body (null for an empty body), or with a Blob when `blob` is set (a file).
 */
export async function api(path, {method = "GET", body, token, signal, blob = false} = {}) {
  const form = body instanceof FormData;
  const headers = {Accept: blob ? "*/*" : "application/json"};
  if (body !== undefined && !form) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;

  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined || form ? body : JSON.stringify(body),
      signal,
      cache: "no-store",
    });
    if (blob && response.ok) return await response.blob();
  } catch (err) {
    if (err?.name === "AbortError") throw err;
    throw new ApiError(0, "network_error", NETWORK_MESSAGE);
  }

  const raw = await response.text().catch(() => "");
  let data = null;
  if (raw) {
    try {
      data = JSON.parse(raw);
    } catch {
      data = null;
    }
  }

  if (!response.ok) {
    const message = typeof data?.message === "string" && data.message
      ? data.message
      : `HTTP ${response.status} ${response.statusText || ""}`.trim();
    throw new ApiError(response.status, data?.error || "http_error", message, data);
  }
  if (raw && data === null) {
    throw new ApiError(response.status, "bad_response",
      "서비스 응답을 읽을 수 없습니다 / The service sent an unreadable answer");
  }
  return data;
}
