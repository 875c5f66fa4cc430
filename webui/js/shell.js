// shell.js is the signed-in app frame: the sidebar on the left, the main
// pane (top bar with the room header and search, then the open room) and
// the right panel (thread, members, search results, call history). Under
// 768 px the sidebar becomes a drawer opened from the top bar and the right
// panel covers the screen.
import { el, uid } from './dom.js';
import { icon } from './icons.js';
import { sidebar } from './sidebar.js';
import { Chat } from './chat.js';

const NARROW = '(max-width: 767px)';
// Brief drops (a server restart, a network blip) reconnect within this time
// and are not worth a banner.
const BANNER_DELAY_MS = 2000;
const NOTICE_MS = 6000;

/**
 * shellView returns {node, focus, start, resync, setUser, setConnection,
 * showError, destroy}. onLogout() runs when the user chooses "Log out".
 */
export function shellView({ siteName, user, socket, onLogout, onReconnectNow }) {
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

  // ---------- Layout API for chat.js ----------
  const callLayer = el('div', { class: 'call-layer' });
  const widgetSlot = el('div', { class: 'call-widget-slot' });
  const layout = {
    setMain,
    setPanel,
    closeDrawer: () => setDrawer(false),
    showError,
    showNotice,
    narrow: () => narrow.matches,
    mountCallView: (view) => callLayer.replaceChildren(...(view ? [view] : [])),
    mountCallWidget: (widget) => widgetSlot.replaceChildren(...(widget ? [widget] : [])),
  };
  const chat = new Chat({ me: user, socket, shell: layout, siteName });

  const side = sidebar({
    id: sidebarId,
    siteName,
    user,
    state: chat.state,
    actions: chat.sidebarActions,
    onLogout,
    onSettings: () => chat.calls.openSettings(),
    onCloseDrawer: () => setDrawer(false),
  });
  const scrim = el('div', { class: 'scrim', 'aria-hidden': 'true' });

  // ---------- Banners ----------
  const bannerText = el('span', { class: 'banner-text' });
  const retry = el('button', { type: 'button', class: 'banner-action', onclick: () => onReconnectNow?.() }, 'Retry now');
  const banner = el('div', { class: 'banner banner-warning', role: 'status', hidden: true },
    icon('wifiOff', { size: 16 }), bannerText, retry);
  const errorText = el('span', { class: 'banner-text' });
  const errorBanner = el('div', { class: 'banner banner-danger', role: 'alert', hidden: true },
    icon('alert', { size: 16 }), errorText,
    el('button', { type: 'button', class: 'banner-action', onclick: () => { errorBanner.hidden = true; } }, 'Dismiss'));
  const noticeText = el('span', { class: 'banner-text' });
  const notice = el('div', { class: 'banner banner-info', role: 'status', hidden: true },
    noticeText,
    el('button', { type: 'button', class: 'banner-action', onclick: () => { notice.hidden = true; } }, 'Dismiss'));

  // ---------- Top bar: header slot and search ----------
  const homeTitle = el('h1', { class: 'topbar-title', tabindex: '-1' }, 'Home');
  const headerSlot = el('div', { class: 'topbar-slot' }, homeTitle);
  const searchInput = el('input', {
    type: 'search',
    class: 'search-input',
    placeholder: 'Search messages',
    'aria-label': 'Search messages',
    autocomplete: 'off',
    enterkeyhint: 'search',
  });
  const searchForm = el('form', { class: 'search-form', role: 'search' },
    el('span', { class: 'search-icon', 'aria-hidden': 'true' }, icon('search', { size: 16 })),
    searchInput);
  const searchToggle = el('button', {
    type: 'button', class: 'icon-button search-toggle', 'aria-label': 'Search messages', title: 'Search',
  }, icon('search', { size: 20 }));
  const topbar = el('header', { class: 'topbar' }, menuToggle, headerSlot, searchForm, searchToggle);
  searchForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const q = searchInput.value.trim();
    if (!q) return;
    chat.search(q);
    if (narrow.matches) setSearching(false);
  });
  const setSearching = (on) => {
    topbar.classList.toggle('is-searching', on);
    if (on) searchInput.focus();
  };
  searchToggle.addEventListener('click', () => setSearching(true));
  searchInput.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      searchInput.value = '';
      if (narrow.matches) {
        setSearching(false);
        searchToggle.focus();
      }
    }
  });
  searchInput.addEventListener('blur', () => {
    if (!searchInput.value) topbar.classList.remove('is-searching');
  });

  // ---------- Main content ----------
  const empty = el('section', { class: 'empty-state', 'aria-labelledby': emptyTitleId },
    el('div', { class: 'empty-art', 'aria-hidden': 'true' }, icon('messages', { size: 40 })),
    el('h2', { id: emptyTitleId, class: 'empty-title' }, 'Nothing here yet'),
    el('p', { class: 'empty-text' }, 'Pick a channel or a direct message from the sidebar to start talking.'),
    el('p', { class: 'empty-hint' }, 'Rooms you are added to show up on the left.'),
  );
  const content = el('div', { class: 'main-content' }, empty);
  const main = el('main', { class: 'main-pane' }, topbar, banner, errorBanner, notice, content, callLayer);
  const panelSlot = el('aside', { class: 'right-panel', 'aria-label': 'Details', hidden: true });

  const node = el('div', { class: 'shell' }, side.node, scrim, main, panelSlot, widgetSlot);

  let current = null;
  function setMain(view) {
    current = view;
    content.replaceChildren(view ? view.node : empty);
    headerSlot.replaceChildren(view ? view.header : homeTitle);
  }

  function setPanel(panel) {
    const had = panelSlot.contains(document.activeElement);
    panelSlot.replaceChildren(...(panel ? [panel.node] : []));
    panelSlot.hidden = !panel;
    panelSlot.setAttribute('aria-label', panel ? { thread: 'Thread', members: 'Members', search: 'Search results', calls: 'Calls' }[panel.kind] || 'Details' : 'Details');
    node.classList.toggle('has-panel', Boolean(panel));
    node.classList.toggle(`has-panel-thread`, panel?.kind === 'thread');
    // On a phone the panel covers the room: keep the room out of the tab order.
    main.inert = Boolean(panel) && narrow.matches;
    if (!panel && had) current?.focus?.();
  }
  panelSlot.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !event.defaultPrevented && chat.panel) {
      event.preventDefault();
      chat.closePanel();
    }
  });

  function setDrawer(open) {
    const isOpen = open && narrow.matches;
    node.classList.toggle('is-drawer-open', isOpen);
    menuToggle.setAttribute('aria-expanded', String(isOpen));
    main.inert = isOpen || (Boolean(chat.panel) && narrow.matches);
    panelSlot.inert = isOpen;
    if (isOpen) {
      side.node.querySelector('.sidebar-column button, .sidebar-column a')?.focus();
    } else if (open === false && narrow.matches && side.node.contains(document.activeElement)) {
      menuToggle.focus();
    }
  }
  menuToggle.addEventListener('click', () => setDrawer(true));
  scrim.addEventListener('click', () => setDrawer(false));
  const onKey = (event) => {
    if (event.key === 'Escape' && node.classList.contains('is-drawer-open')) setDrawer(false);
  };
  const onResize = () => {
    if (!narrow.matches) {
      setDrawer(false);
      topbar.classList.remove('is-searching');
    }
    main.inert = node.classList.contains('is-drawer-open') || (Boolean(chat.panel) && narrow.matches);
  };
  document.addEventListener('keydown', onKey);
  narrow.addEventListener('change', onResize);

  // ---------- Connection banner ----------
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

  let noticeTimer = null;
  function showNotice(message) {
    noticeText.textContent = message;
    notice.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { notice.hidden = true; }, NOTICE_MS);
  }

  return {
    node,
    chat,
    focus: () => homeTitle.isConnected && homeTitle.focus({ preventScroll: true }),
    start: () => chat.start().catch((err) => showError(`Could not load the chat: ${err.message}`)),
    resync: () => chat.resync().catch(() => {}),
    setUser: (u) => {
      side.setUser(u);
      chat.state.setMe(u);
    },
    setConnection,
    showError,
    destroy() {
      clearTimeout(bannerTimer);
      clearTimeout(noticeTimer);
      chat.destroy();
      side.destroy();
      side.closeMenu({ restoreFocus: false });
      for (const d of document.querySelectorAll('dialog.dialog, .emoji-picker')) d.remove();
      document.removeEventListener('keydown', onKey);
      narrow.removeEventListener('change', onResize);
    },
  };
}
