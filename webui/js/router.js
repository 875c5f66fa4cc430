// router.js maps the address bar to the open room: /channels/<id> opens a
// room; history.pushState keeps Back and Forward working and a reload
// reopens the same room.

const ROOM_PATH = /^\/channels\/([A-Za-z0-9]{1,64})\/?$/;

/** roomFromPath returns the room id in a path, or null. */
export function roomFromPath(pathname = location.pathname) {
  const m = ROOM_PATH.exec(pathname);
  return m ? m[1] : null;
}

/** roomPath is the address of a room. */
export function roomPath(id) {
  return `/channels/${encodeURIComponent(id)}`;
}

/** Router calls onRoom(id|null) when Back/Forward changes the address. */
export class Router {
  constructor(onRoom) {
    this.onPop = () => onRoom(roomFromPath());
    window.addEventListener('popstate', this.onPop);
  }

  /** show puts a room in the address bar (replace: no new history entry). */
  show(id, { replace = false } = {}) {
    const path = id ? roomPath(id) : '/';
    if (location.pathname === path) return;
    if (replace) history.replaceState({ room: id }, '', path);
    else history.pushState({ room: id }, '', path);
  }

  destroy() {
    window.removeEventListener('popstate', this.onPop);
  }
}
