// notifications.js shows desktop notifications for mentions and direct
// messages while the tab is hidden. They are off until the user turns them
// on with the bell (permission may only be asked for on a user gesture);
// the choice is remembered in this browser.

const KEY = 'calls.notifications';

/** supported says whether this browser has the Notification API (secure origins only). */
export const supported = () => typeof Notification !== 'undefined';

/** enabled says whether notifications are on and allowed. */
export function enabled() {
  return supported() && Notification.permission === 'granted' && localStorage.getItem(KEY) === 'on';
}

/**
 * toggle turns notifications on (asking for permission) or off; it resolves
 * to {on, denied}. Call it from a click handler.
 */
export async function toggle() {
  if (!supported()) return { on: false, denied: false, unsupported: true };
  if (enabled()) {
    localStorage.setItem(KEY, 'off');
    return { on: false, denied: false };
  }
  let permission = Notification.permission;
  if (permission === 'default') permission = await Notification.requestPermission();
  if (permission !== 'granted') {
    localStorage.setItem(KEY, 'off');
    return { on: false, denied: true };
  }
  localStorage.setItem(KEY, 'on');
  return { on: true, denied: false };
}

/** notify shows one notification when enabled and the tab is hidden; onClick focuses the tab first. */
export function notify({ title, body, tag, onClick }) {
  if (!enabled() || !document.hidden) return null;
  try {
    const n = new Notification(title, { body: body.slice(0, 240), tag, icon: '/icons/favicon.svg' });
    n.addEventListener('click', () => {
      window.focus();
      n.close();
      onClick?.();
    });
    return n;
  } catch {
    return null; // some platforms only allow notifications from a service worker
  }
}
