// The dashboard's API client. Every URL is relative to the page
// (`api/...` next to `/ui/`), so the page works under any base path. The
// session cookie is HttpOnly: this code never sees it. The CSRF token lives
// in memory only and goes with every write.

let csrf = null;
let onLoggedOut = () => {};

export function setSession(session) { csrf = session ? session.csrf_token : null; }
export function whenLoggedOut(fn) { onLoggedOut = fn; }

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export function url(path, params) {
  const u = new URL("api/" + path.replace(/^\//, ""), document.baseURI);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") u.searchParams.set(k, v);
  }
  return u;
}

export async function call(path, { method = "GET", body, params, quiet401 } = {}) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrf) headers["X-Tollgate-CSRF"] = csrf;
  const res = await fetch(url(path, params), {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  const text = await res.text();
  try { data = text ? JSON.parse(text) : null; } catch { data = { error: { message: text } }; }
  if (!res.ok) {
    const message = (data && data.error && data.error.message) || res.statusText;
    if (res.status === 401 && !quiet401) onLoggedOut();
    throw new ApiError(res.status, message);
  }
  return { data, applied: res.headers.get("x-tollgate-applied") };
}

export const get = (path, params) => call(path, { params }).then(r => r.data);
export const post = (path, body) => call(path, { method: "POST", body: body === undefined ? {} : body });
