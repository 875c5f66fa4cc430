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

// Setup and sessions.

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

// Users.

/** users → [user] everyone you can reach, with presence; q filters by name prefix. */
export const users = (q = '') => get(`/users${q ? `?q=${encodeURIComponent(q)}` : ''}`).then((r) => r.users || []);

/** user → one user you can reach. */
export const user = (id) => get(`/users/${encodeURIComponent(id)}`);

// Teams.

export const teams = () => get('/teams').then((r) => r.teams || []);
export const createTeam = (name, displayName) => post('/teams', { name, display_name: displayName });
export const teamMembers = (teamId) => get(`/teams/${encodeURIComponent(teamId)}/members`).then((r) => r.members || []);
export const addTeamMember = (teamId, userId) => post(`/teams/${encodeURIComponent(teamId)}/members`, { user_id: userId });
export const removeTeamMember = (teamId, userId) => del(`/teams/${encodeURIComponent(teamId)}/members/${encodeURIComponent(userId)}`);
export const teamChannels = (teamId) => get(`/teams/${encodeURIComponent(teamId)}/channels`).then((r) => r.channels || []);

// Rooms.

/** channels → every room you are in, with unread_count and mention_count. */
export const channels = () => get('/channels').then((r) => r.channels || []);
export const channel = (id) => get(`/channels/${encodeURIComponent(id)}`);
export const createChannel = (body) => post('/channels', body);
export const updateChannel = (id, body) => patch(`/channels/${encodeURIComponent(id)}`, body);
export const openDM = (userIds) => post('/dms', { user_ids: userIds });
export const joinChannel = (id) => post(`/channels/${encodeURIComponent(id)}/join`);
export const leaveChannel = (id) => post(`/channels/${encodeURIComponent(id)}/leave`);
export const channelMembers = (id) => get(`/channels/${encodeURIComponent(id)}/members`).then((r) => r.members || []);
export const addChannelMember = (id, userId) => post(`/channels/${encodeURIComponent(id)}/members`, { user_id: userId });
export const removeChannelMember = (id, userId) => del(`/channels/${encodeURIComponent(id)}/members/${encodeURIComponent(userId)}`);
export const archiveChannel = (id) => post(`/channels/${encodeURIComponent(id)}/archive`);
export const unarchiveChannel = (id) => post(`/channels/${encodeURIComponent(id)}/unarchive`);
export const deleteChannel = (id) => del(`/channels/${encodeURIComponent(id)}`);
export const markRead = (id) => post(`/channels/${encodeURIComponent(id)}/read`);

// Posts.

/** posts → {posts: [...newest first], has_more}. */
export function posts(channelId, { before = '', limit = 50 } = {}) {
  const q = new URLSearchParams({ limit: String(limit) });
  if (before) q.set('before', before);
  return get(`/channels/${encodeURIComponent(channelId)}/posts?${q}`);
}
export const createPost = (channelId, body) => post(`/channels/${encodeURIComponent(channelId)}/posts`, body);
export const editPost = (id, message) => patch(`/posts/${encodeURIComponent(id)}`, { message });
export const deletePost = (id) => del(`/posts/${encodeURIComponent(id)}`);
/** thread → {root, posts: [replies, oldest first]}. */
export const thread = (rootId) => get(`/posts/${encodeURIComponent(rootId)}/thread`);
/** toggleReaction → {added, reactions}. */
export const toggleReaction = (postId, emoji) => post(`/posts/${encodeURIComponent(postId)}/reactions`, { emoji });
export const search = (q) => get(`/search?q=${encodeURIComponent(q)}`).then((r) => r.posts || []);
/** command runs a slash command → {text, ephemeral, post?}. */
export const command = (channelId, text) => post(`/channels/${encodeURIComponent(channelId)}/commands`, { command: text });

/** fileURL is where a file's bytes are served; download forces an attachment. */
export function fileURL(id, { download = false } = {}) {
  return `${BASE}/files/${encodeURIComponent(id)}${download ? '?download=1' : ''}`;
}

/**
 * upload sends one file to a room as multipart/form-data (field "file").
 * XMLHttpRequest rather than fetch because only it reports upload progress.
 * Returns {promise, abort}; promise resolves to the stored file object and
 * onProgress(fraction 0..1) runs as bytes leave.
 */
export function upload(channelId, file, onProgress = () => {}) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open('POST', `${BASE}/channels/${encodeURIComponent(channelId)}/files`);
    xhr.withCredentials = true;
    xhr.responseType = 'text';
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener('load', () => {
      let data = null;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300 && data && Array.isArray(data.files) && data.files[0]) {
        onProgress(1);
        resolve(data.files[0]);
        return;
      }
      const message = xhr.status === 413
        ? 'The file is larger than this server accepts.'
        : (data && data.error) || `The server answered ${xhr.status}`;
      reject(new ApiError(message, {
        status: xhr.status,
        code: (data && data.code) || `http_${xhr.status}`,
        retryAfter: parseRetryAfter(xhr.getResponseHeader('Retry-After')),
      }));
    });
    xhr.addEventListener('error', () => reject(new ApiError('The upload failed: cannot reach the server.')));
    xhr.addEventListener('abort', () => reject(new ApiError('Upload cancelled.', { code: 'aborted' })));
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}

function parseRetryAfter(value) {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(value);
  if (Number.isNaN(date)) return null;
  return Math.max(0, Math.ceil((date - Date.now()) / 1000));
}
