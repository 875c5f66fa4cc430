// shell.js is the signed-in app frame: the sidebar on the left and the main
// pane on the right. Under 768 px the sidebar becomes a drawer opened from the
// main pane's top bar.
import { el, uid } from './dom.js';
import { icon } from './icons.js';
import { sidebar } from './sidebar.js';

const NARROW = '(max-width: 767px)';
// Brief drops (a server restart, a network blip) reconnect within this time
// and are not worth a banner.
const BANNER_DELAY_MS = 2000;

/**
 * shellView returns {node, focus, setUser, setConnection, showError, destroy}.
 * onLogout() runs when the user chooses "Log out".
 */
export function shellView({ siteName, user, onLogout, onReconnectNow }) {
  const narrow = window.matchMedia(NARROW);
  const sidebarId = uid('sidebar');
  const emptyTitleId = uid('empty-title');

  const menuToggle = el('button', {
    type: 'button',
    class: 'icon-button menu-toggle',
    'aria-label': 'Open sidebar',
    'aria-controls': sidebarId,
    'aria-expanded': 'false',
  }, icon('menu', { size: 20 }));

  const side = sidebar({ id: sidebarId, siteName, user, onLogout, onCloseDrawer: () => setDrawer(false) });
  const scrim = el('div', { class: 'scrim', 'aria-hidden': 'true' });

  const bannerText = el('span', { class: 'banner-text' });
  const retry = el('button', { type: 'button', class: 'banner-action', onclick: () => onReconnectNow?.() }, 'Retry now');
  const banner = el('div', { class: 'banner banner-warning', role: 'status', hidden: true },
    icon('wifiOff', { size: 16 }), bannerText, retry);
  const errorText = el('span', { class: 'banner-text' });
  const errorBanner = el('div', { class: 'banner banner-danger', role: 'alert', hidden: true },
    icon('alert', { size: 16 }), errorText,
    el('button', { type: 'button', class: 'banner-action', onclick: () => { errorBanner.hidden = true; } }, 'Dismiss'));

  const title = el('h1', { class: 'topbar-title', tabindex: '-1' }, 'Home');
  const main = el('main', { class: 'main-pane' },
    el('header', { class: 'topbar' }, menuToggle, title),
    banner,
    errorBanner,
    el('section', { class: 'empty-state', 'aria-labelledby': emptyTitleId },
      el('div', { class: 'empty-art', 'aria-hidden': 'true' }, icon('messages', { size: 40 })),
      el('h2', { id: emptyTitleId, class: 'empty-title' }, 'Nothing here yet'),
      el('p', { class: 'empty-text' }, 'Pick a channel or a direct message from the sidebar to start talking.'),
      el('p', { class: 'empty-hint' }, 'Rooms you are added to show up on the left.'),
    ),
  );

  const node = el('div', { class: 'shell' }, side.node, scrim, main);

  function setDrawer(open) {
    const isOpen = open && narrow.matches;
    node.classList.toggle('is-drawer-open', isOpen);
    menuToggle.setAttribute('aria-expanded', String(isOpen));
    main.inert = isOpen;
    if (isOpen) {
      side.node.querySelector('button')?.focus();
    } else if (open === false && narrow.matches && side.node.contains(document.activeElement)) {
      menuToggle.focus();
    }
  }
  menuToggle.addEventListener('click', () => setDrawer(true));
  scrim.addEventListener('click', () => setDrawer(false));
  const onKey = (event) => {
    if (event.key === 'Escape' && node.classList.contains('is-drawer-open')) setDrawer(false);
  };
  const onResize = () => { if (!narrow.matches) setDrawer(false); };
  document.addEventListener('keydown', onKey);
  narrow.addEventListener('change', onResize);

  let bannerTimer = null;
  function setConnection(state, info = {}) {
    if (state === 'open' || state === 'closed') {
      clearTimeout(bannerTimer);
      bannerTimer = null;
      banner.hidden = true;
      node.classList.remove('is-offline');
      return;
    }
    if (state !== 'reconnecting') return;
    bannerText.textContent = info.shutdown
      ? 'The server is restarting. Reconnecting…'
      : 'Connection lost. Reconnecting…';
    if (banner.hidden && !bannerTimer) {
      bannerTimer = setTimeout(() => {
        bannerTimer = null;
        banner.hidden = false;
        node.classList.add('is-offline');
      }, BANNER_DELAY_MS);
    }
  }

  function showError(message) {
    errorText.textContent = message;
    errorBanner.hidden = false;
  }

  return {
    node,
    focus: () => title.focus({ preventScroll: true }),
    setUser: side.setUser,
    setConnection,
    showError,
    destroy() {
      clearTimeout(bannerTimer);
      side.closeMenu({ restoreFocus: false });
      document.removeEventListener('keydown', onKey);
      narrow.removeEventListener('change', onResize);
    },
  };
}
