// sidebar.js is the left column: the site name, the room sections (Channels,
// Direct messages) and the account menu at its foot.
import { el, uid } from './dom.js';
import { icon } from './icons.js';
import { userMenu } from './user-menu.js';

/**
 * sidebar returns {node, setUser, close}. Sections start empty; later
 * milestones fill their lists.
 */
export function sidebar({ id, siteName, user, onLogout, onCloseDrawer }) {
  const account = userMenu({ user, onLogout });
  const closeButton = el('button', {
    type: 'button',
    class: 'icon-button sidebar-close',
    'aria-label': 'Close sidebar',
    onclick: onCloseDrawer,
  }, icon('close'));

  const node = el('nav', { id, class: 'sidebar', 'aria-label': 'Sidebar' },
    el('header', { class: 'sidebar-header' },
      el('img', { class: 'sidebar-logo', src: '/icons/favicon.svg', alt: '', width: 28, height: 28 }),
      el('span', { class: 'sidebar-site', title: siteName }, siteName),
      closeButton,
    ),
    el('div', { class: 'sidebar-body' },
      section({ title: 'Channels', empty: 'No channels yet' }).node,
      section({ title: 'Direct messages', empty: 'No conversations yet' }).node,
    ),
    el('footer', { class: 'sidebar-footer' }, account.node),
  );
  return { node, setUser: account.setUser, closeMenu: account.close };
}

/** section is a collapsible group of rooms with a heading button (disclosure pattern). */
function section({ title, empty }) {
  const listId = uid('section');
  const list = el('ul', { class: 'room-list', role: 'list' });
  const emptyNote = el('p', { class: 'section-empty' }, empty);
  const body = el('div', { id: listId, class: 'section-body' }, list, emptyNote);
  const toggle = el('button', {
    type: 'button',
    class: 'section-toggle',
    'aria-expanded': 'true',
    'aria-controls': listId,
  }, icon('chevronDown', { size: 14, className: 'section-chevron' }), el('span', null, title));
  toggle.addEventListener('click', () => {
    const expanded = toggle.getAttribute('aria-expanded') === 'true';
    toggle.setAttribute('aria-expanded', String(!expanded));
    body.hidden = expanded;
  });
  const node = el('section', { class: 'sidebar-section' }, el('h2', { class: 'section-title' }, toggle), body);
  return { node, list, emptyNote };
}
