// router.js maps the address bar to what the app shows: /channels/<id> opens
// a room, /admin/<page> a page of the system console; history.pushState
// keeps Back and Forward working and a reload reopens the same place. The
// public pages /invite/<token>, /reset/<token> and /signup need no session.

const ROOM_PATH = /^\/channels\/([A-Za-z0-9]{1,64})\/?$/;
const ADMIN_PATH = /^\/admin(?:\/([a-z-]{1,32}))?\/?$/;
const PUBLIC_PATH = /^\/(invite|reset)\/([A-Za-z0-9_-]{1,128})\/?$|^\/(signup)\/?$/;

/** roomFromPath returns the room id in a path, or null. */
export function roomFromPath(pathname = location.pathname) {
  const m = ROOM_PATH.exec(pathname);
  return m ? m[1] : null;
}

/** roomPath is the address of a room. */
export function roomPath(id) {
  return `/channels/${encodeURIComponent(id)}`;
}

/** adminPageFromPath returns the console page in a path ('' for /admin), or null. */
export function adminPageFromPath(pathname = location.pathname) {
  const m = ADMIN_PATH.exec(pathname);
  return m ? (m[1] || '') : null;
}

/** adminPath is the address of a console page. */
export function adminPath(page) {
  return `/admin/${encodeURIComponent(page)}`;
}

/** publicPageFromPath returns {kind: 'invite'|'reset'|'signup', token} or null. */
export function publicPageFromPath(pathname = location.pathname) {
  const m = PUBLIC_PATH.exec(pathname);
  if (!m) return null;
  return m[3] ? { kind: m[3], token: '' } : { kind: m[1], token: m[2] };
}

/**
 * Router calls onRoom(id|null) when Back/Forward changes the address, or
 * onAdmin(page) when it lands on the system console.
 */
export class Router {
  constructor(onRoom, onAdmin = null) {
    this.onPop = () => {
      const page = adminPageFromPath();
      if (page !== null && onAdmin) onAdmin(page);
      else onRoom(roomFromPath());
    };
    window.addEventListener('popstate', this.onPop);
  }

  /** show puts a room in the address bar (replace: no new history entry). */
  show(id, { replace = false } = {}) {
    this.go(id ? roomPath(id) : '/', { room: id }, replace);
  }

  /** showAdmin puts a console page in the address bar. */
  showAdmin(page, { replace = false } = {}) {
    this.go(adminPath(page), { admin: page }, replace);
  }

  go(path, state, replace) {
    if (location.pathname === path) return;
    if (replace) history.replaceState(state, '', path);
    else history.pushState(state, '', path);
  }

  destroy() {
    window.removeEventListener('popstate', this.onPop);
  }
}
