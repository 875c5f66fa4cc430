// avatar.js draws a user's initials on a colour picked from their username,
// so the same person always gets the same colour.
import { el } from './dom.js';

/** avatar returns a decorative initials badge (the name is shown beside it). */
export function avatar(user, { size = 'md' } = {}) {
  const name = displayName(user);
  const node = el('span', { class: ['avatar', `avatar-${size}`], 'aria-hidden': 'true' }, initials(name));
  node.style.setProperty('--avatar-hue', String(hue(user.username || name)));
  return node;
}

/**
 * presenceAvatar is an avatar with a presence dot. The dot carries
 * data-presence-user so live presence events can recolour every dot of a
 * user without redrawing the views.
 */
export function presenceAvatar(user, status = 'offline', { size = 'md' } = {}) {
  return el('span', { class: ['avatar-wrap', `avatar-wrap-${size}`] },
    avatar(user, { size }),
    presenceDot(user.id, status));
}

/** presenceDot is the coloured dot alone (for DM rows in the sidebar). */
export function presenceDot(userId, status = 'offline') {
  return el('span', {
    class: ['presence', `presence-${status}`],
    dataset: { presenceUser: userId },
    'aria-hidden': 'true',
  });
}

/** setPresence recolours every dot of a user under root. */
export function setPresence(root, userId, status) {
  for (const dot of root.querySelectorAll(`[data-presence-user="${CSS.escape(userId)}"]`)) {
    dot.classList.remove('presence-online', 'presence-away', 'presence-offline');
    dot.classList.add(`presence-${status}`);
  }
}

/** displayName is what the UI calls a user: their display name, else their username. */
export function displayName(user) {
  return (user.display_name && user.display_name.trim()) || user.username || 'Unknown user';
}

function initials(name) {
  const words = name.trim().split(/[\s._-]+/u).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : [name];
  return letters.map((w) => [...w][0] || '').join('').toUpperCase().slice(0, 2) || '?';
}

function hue(text) {
  let h = 0;
  for (const ch of text) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return h % 360;
}
