// call-link.js reads the call addresses — /call/<room id> (a room's
// permanent call link) and /call/<room id>?popout=1 (the call in its own
// window) — and draws the page someone gets when the link is not theirs to
// use.
import { el } from './dom.js';
import { icon } from './icons.js';

const CALL_PATH = /^\/call\/([A-Za-z0-9]{1,64})\/?$/;

/** callLinkFromPath returns the room id of a call link (not a pop-out), or null. */
export function callLinkFromPath(loc = location) {
  const m = CALL_PATH.exec(loc.pathname);
  if (!m) return null;
  return new URLSearchParams(loc.search).get('popout') === '1' ? null : m[1];
}

/** popoutFromLocation returns {channelId, mic, camera} for a pop-out window, or null. */
export function popoutFromLocation(loc = location) {
  const m = CALL_PATH.exec(loc.pathname);
  if (!m) return null;
  const q = new URLSearchParams(loc.search);
  if (q.get('popout') !== '1') return null;
  return { channelId: m[1], mic: q.get('mic') !== '0', camera: q.get('camera') === '1' };
}

/** noAccessView is the main pane for a call link you may not use. */
export function noAccessView({ onHome }) {
  const home = el('button', { type: 'button', class: 'button button-primary', onclick: onHome }, 'Go to your rooms');
  const node = el('section', { class: 'empty-state call-no-access', 'aria-labelledby': 'no-access-title' },
    el('div', { class: 'empty-art empty-art-danger', 'aria-hidden': 'true' }, icon('lock', { size: 36 })),
    el('h2', { id: 'no-access-title', class: 'empty-title' }, 'You cannot join this call'),
    el('p', { class: 'empty-text' }, 'This call link belongs to a room you are not a member of, or that no longer exists. Ask someone in the room to add you, then open the link again.'),
    home);
  const header = el('h1', { class: 'topbar-title', tabindex: '-1' }, 'No access');
  return { node, header, focus: () => home.focus() };
}
