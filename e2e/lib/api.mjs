// HTTP API client for tests: sets up teams, rooms and posts the way another
// client would, with a bearer token from POST /api/v1/auth/login.
import assert from 'node:assert/strict';

/**
 * apiAs logs in and returns {user, call(method, path, body)}. call resolves
 * to the decoded JSON (null for 204) and throws on any non-2xx answer with
 * the status in its message.
 */
export async function apiAs(baseURL, username, password) {
  const res = await fetch(`${baseURL}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  assert.equal(res.status, 200, `login as ${username}`);
  const { token, user } = await res.json();
  async function call(method, path, body) {
    const r = await fetch(`${baseURL}/api/v1${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path} as ${username}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }
  return { user, call };
}
