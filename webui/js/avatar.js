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
