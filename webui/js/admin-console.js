// admin-console.js is the system console: a tab bar of pages (settings,
// users, calls, system, audit log) shown in the main pane at /admin/<page>,
// for admins only. Each page is its own module; this one switches between
// them and turns everyone else away.
import { el, uid } from './dom.js';
import { icon } from './icons.js';
import { adminPath } from './router.js';
import { settingsPage } from './admin-settings.js';
import { usersPage } from './admin-users.js';
import { callsPage } from './admin-calls.js';
import { systemPage } from './admin-system.js';
import { auditPage } from './admin-audit.js';

/** PAGES are the console's pages in tab order; the first is the default. */
export const PAGES = [
  { id: 'settings', label: 'Settings', icon: 'settings', make: settingsPage },
  { id: 'users', label: 'Users', icon: 'users', make: usersPage },
  { id: 'calls', label: 'Calls', icon: 'phone', make: callsPage },
  { id: 'system', label: 'System', icon: 'shield', make: systemPage },
  { id: 'audit', label: 'Audit log', icon: 'clock', make: auditPage },
];

/**
 * adminConsole returns the console view for the shell:
 * {node, header, page, show(page), refresh(), focus(), destroy()}.
 * ctx: {me, state, socket, siteName, navigate(page), leave(), ensureUsers(ids),
 *       showError(text), showNotice(text)}.
 */
export function adminConsole(ctx) {
  const title = el('h1', { class: 'topbar-title admin-topbar-title', tabindex: '-1' },
    el('span', { class: 'room-title-icon', 'aria-hidden': 'true' }, icon('shield', { size: 18 })),
    el('span', null, 'System console'));
  const back = el('button', { type: 'button', class: 'header-button admin-back', 'aria-label': 'Back to chat', title: 'Back to chat' },
    icon('arrowLeft', { size: 16 }), el('span', { 'aria-hidden': 'true' }, 'Back to chat'));
  back.addEventListener('click', () => ctx.leave());
  const header = el('div', { class: 'room-header admin-header' }, el('div', { class: 'room-heading' }, title), back);

  const tabs = PAGES.map((p) => {
    const link = el('a', { class: 'admin-tab', href: adminPath(p.id), dataset: { page: p.id } },
      icon(p.icon, { size: 16 }), el('span', null, p.label));
    link.addEventListener('click', (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      ctx.navigate(p.id);
    });
    return link;
  });
  const navId = uid('admin-nav');
  const nav = el('nav', { id: navId, class: 'admin-nav', 'aria-label': 'System console pages' }, tabs);
  const slot = el('div', { class: 'admin-page' });
  const node = el('section', { class: 'admin', 'aria-label': 'System console' }, nav, slot);

  let current = null;
  let currentId = '';
  const isAdmin = () => ctx.me()?.role === 'admin';

  function show(pageId) {
    if (!isAdmin()) {
      showForbidden();
      return;
    }
    const page = PAGES.find((p) => p.id === pageId) || PAGES[0];
    if (page.id === currentId && current) return;
    current?.destroy?.();
    currentId = page.id;
    for (const t of tabs) {
      if (t.dataset.page === page.id) t.setAttribute('aria-current', 'page');
      else t.removeAttribute('aria-current');
    }
    nav.hidden = false;
    current = page.make({ ...ctx, onForbidden: showForbidden });
    slot.replaceChildren(current.node);
    current.load?.();
  }

  /** showForbidden is what a member (or an admin demoted meanwhile) gets at /admin. */
  function showForbidden() {
    current?.destroy?.();
    current = null;
    currentId = '';
    nav.hidden = true;
    const home = el('button', { type: 'button', class: 'button button-primary' }, 'Back to chat');
    home.addEventListener('click', () => ctx.leave());
    const headingId = uid('admin-forbidden');
    slot.replaceChildren(el('section', { class: 'empty-state admin-forbidden', 'aria-labelledby': headingId },
      el('div', { class: 'empty-art empty-art-danger', 'aria-hidden': 'true' }, icon('lock', { size: 28 })),
      el('h2', { id: headingId, class: 'empty-title' }, 'Admins only'),
      el('p', { class: 'empty-text' }, 'The system console is for administrators of this server. Ask one if you need a setting changed.'),
      home));
  }

  return {
    node,
    header,
    get page() { return currentId; },
    get allowed() { return isAdmin(); },
    show,
    /** recheck turns away someone who is no longer an admin (or lets a new one in). */
    recheck() {
      if (!isAdmin()) showForbidden();
      else if (!currentId) show(PAGES[0].id);
    },
    refresh: () => current?.refresh?.() ?? current?.load?.(),
    focus: () => (currentId ? (slot.querySelector('.admin-title') || title).focus({ preventScroll: true }) : title.focus({ preventScroll: true })),
    destroy() {
      current?.destroy?.();
      current = null;
    },
  };
}
