// api.js talks JSON to the server's /api/v1 routes. The session lives in an
// HttpOnly cookie, so requests go with credentials 'same-origin' and no token
// is ever handled by script.

const BASE = '/api/v1';

/** ApiError is thrown for any failed request; status 0 means the network failed. */
export class ApiError extends Error {
  constructor(message, { status = 0, code = 'network_error', retryAfter = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter; // seconds, when the server sent Retry-After
  }
}

/**
 * request sends one call to the API. path is relative to /api/v1 ("/users/me").
 * It resolves to the decoded JSON body (null for 204) or throws ApiError with
 * the server's {"error","code"}.
 */
export async function request(method, path, body) {
  const init = {
    method,
    credentials: 'same-origin',
    headers: { Accept: 'application/json' },
    cache: 'no-store',
  };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }

  let res;
  try {
    res = await fetch(BASE + path, init);
  } catch {
    throw new ApiError('Cannot reach the server. Check your connection and try again.');
  }

  const text = res.status === 204 ? '' : await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }

  if (!res.ok) {
    const message = data && typeof data.error === 'string' && data.error
      ? data.error
      : `The server answered ${res.status} ${res.statusText}`.trim();
    throw new ApiError(message, {
      status: res.status,
      code: (data && data.code) || `http_${res.status}`,
      retryAfter: parseRetryAfter(res.headers.get('Retry-After')),
    });
  }
  return data;
}

export const get = (path) => request('GET', path);
export const post = (path, body) => request('POST', path, body ?? {});
export const patch = (path, body) => request('PATCH', path, body ?? {});
export const del = (path) => request('DELETE', path);

// The routes the foundation uses.

/** setupStatus → {needed, site_name}. */
export const setupStatus = () => get('/setup');

/** setup creates the first admin → {token, user}; the server sets the cookie. */
export const setup = (code, username, password) => post('/setup', { code, username, password });

/** login → {token, user}; the server sets the session cookie. */
export const login = (username, password) => post('/auth/login', { username, password });

/** logout ends the session and clears the cookie. */
export const logout = () => post('/auth/logout');

/** me → the signed-in user, or ApiError with status 401. */
export const me = () => get('/users/me');

function parseRetryAfter(value) {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(value);
  if (Number.isNaN(date)) return null;
  return Math.max(0, Math.ceil((date - Date.now()) / 1000));
}
