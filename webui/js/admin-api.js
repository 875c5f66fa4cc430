// admin-api.js is the system console's side of the API: settings, users,
// invites, calls, system and audit (docs/API.md), plus the public routes the
// invite, reset and sign-up pages use. Same conventions as api.js: JSON,
// cookie session, ApiError with the server's {"error","code"}.
import { get, post, patch, del, request } from './api.js';

const enc = encodeURIComponent;

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

// ---------- Settings ----------

/**
 * settings → Map key → {key, value, default, type, fixed, description, options?}.
 * It accepts both answers servers give: {"settings": {key: value},
 * "fixed": [keys], "schema": [descriptors]}, or an older list of descriptors.
 */
export async function settings() {
  return normalizeSettings(await get('/admin/settings'));
}

/** saveSettings sends the changed keys in one PATCH; nothing is saved if one is bad. */
export async function saveSettings(changes) {
  return normalizeSettings(await patch('/admin/settings', changes));
}

export function normalizeSettings(res) {
  const out = new Map();
  const list = res?.settings;
  const fixed = new Set(Array.isArray(res?.fixed) ? res.fixed : []);
  if (Array.isArray(list)) {
    for (const s of list) {
      if (s && s.key) out.set(s.key, { ...s, fixed: Boolean(s.fixed) || fixed.has(s.key) });
    }
  } else if (list && typeof list === 'object') {
    // The descriptors (type, default, description, options) come in "schema".
    const meta = Object.fromEntries((Array.isArray(res.schema) ? res.schema : []).filter((m) => m && m.key).map((m) => [m.key, m]));
    for (const [key, value] of Object.entries(list)) {
      out.set(key, { ...(meta[key] || {}), key, value, fixed: fixed.has(key) || Boolean(meta[key]?.fixed) });
    }
  }
  return out;
}

/** publicSettings → {key: value} every signed-in user may read. */
export const publicSettings = () => get('/settings');

// ---------- Users ----------

/** users → {users, total}; total falls back to the length when the server sends none. */
export async function users({ q = '', role = '', status = '', limit = 50, offset = 0 } = {}) {
  const res = await get(`/admin/users${query({ q, role, status, limit, offset })}`);
  const list = res?.users || [];
  return { users: list, total: Number.isFinite(res?.total) ? res.total : list.length, paged: Number.isFinite(res?.total) };
}

export const createUser = (body) => post('/users', body);
export const updateUser = (id, body) => patch(`/admin/users/${enc(id)}`, body);
export const setActive = (id, active) => request('PUT', `/users/${enc(id)}/active`, { active });
/** resetLink → {url, expires_at}: a one-time link to choose a new password. */
export const resetLink = (id) => post(`/admin/users/${enc(id)}/reset-link`);

// ---------- Invites ----------

export const invites = () => get('/admin/invites').then((r) => r?.invites || []);
/** createInvite → {id, url, role, team_id, expires_at, max_uses, uses}. */
export const createInvite = (body) => post('/admin/invites', body);
export const revokeInvite = (id) => del(`/admin/invites/${enc(id)}`);

// ---------- Calls ----------

export const activeCalls = () => get('/admin/calls').then((r) => r?.calls || []);
export const endCall = (channelId) => post(`/admin/calls/${enc(channelId)}/end`);
export const stopRecording = (channelId) => post(`/admin/calls/${enc(channelId)}/recording/stop`);
/** callHistory → {calls, total}. */
export async function callHistory({ room = '', user = '', from = '', to = '', limit = 50, offset = 0 } = {}) {
  const res = await get(`/admin/calls/history${query({ room, user, from, to, limit, offset })}`);
  const list = res?.calls || [];
  return { calls: list, total: Number.isFinite(res?.total) ? res.total : list.length };
}

// ---------- System and audit ----------

export const system = () => get('/admin/system');
export const SUPPORT_BUNDLE_URL = '/api/v1/admin/support-bundle';

/**
 * audit → {entries, total|null}. The server pages either by offset or by
 * ?before=<id>; both are sent, each side ignores what it does not know.
 */
export async function audit({ limit = 50, offset = 0, before = '' } = {}) {
  const res = await get(`/admin/audit${query({ limit, offset, before })}`);
  const entries = res?.entries || [];
  return { entries, total: Number.isFinite(res?.total) ? res.total : null };
}

// ---------- Teams (for the default team and invite pickers) ----------

export const teams = () => get('/teams').then((r) => r?.teams || []);

// ---------- Public pages (no session) ----------

/** invite → {site_name, role, expires_at}; 404 unknown, 410 expired or used up. */
export const invite = (token) => get(`/invites/${enc(token)}`);
/** acceptInvite → {user}; the server sets the session cookie. */
export const acceptInvite = (token, body) => post(`/invites/${enc(token)}`, body);
/** resetInfo → {username, expires_at}. */
export const resetInfo = (token) => get(`/reset/${enc(token)}`);
export const resetPassword = (token, password) => post(`/reset/${enc(token)}`, { password });
/** signup → {user} when sign-up is open; 403 signup_closed otherwise. */
export const signup = (body) => post('/auth/signup', body);
