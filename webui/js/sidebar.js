// sidebar.js is the left column: the team rail, the team's channels (with
// their discussions nested under them), the direct messages, unread and
// mention badges, and the account menu at its foot.
import { el, uid } from './dom.js';
import { icon } from './icons.js';
import { presenceDot } from './avatar.js';
import { userMenu } from './user-menu.js';
import { teamRail } from './team-rail.js';
import { teamLabel } from './state.js';
import * as notifications from './notifications.js';

/**
 * sidebar returns {node, setUser, closeMenu, render}.
 *
 * actions: {openRoom(id), selectTeam(id), createTeam(), createChannel(),
 *           browseChannels(), newMessage(), openConsole(), teamMembers()}
 */
export function sidebar({ id, siteName, user, state, actions, onLogout, onSettings, onCloseDrawer }) {
  const account = userMenu({ user, onLogout, onConsole: actions.openConsole });
  const settings = el('button', {
    type: 'button',
    class: 'icon-button bell-button settings-button',
    'aria-label': 'Audio and video settings',
    title: 'Audio and video settings: microphone, camera, speaker, ringtone',
    onclick: () => onSettings?.(),
  }, icon('settings', { size: 18 }));
  const bell = notificationBell();
  const closeButton = el('button', {
    type: 'button',
    class: 'icon-button sidebar-close',
    'aria-label': 'Close sidebar',
    onclick: onCloseDrawer,
  }, icon('close'));
  const rail = teamRail({
    state, onSelect: actions.selectTeam, onCreate: actions.createTeam, onMembers: actions.teamMembers,
  });
  const title = el('span', { class: 'sidebar-site', title: siteName }, siteName);

  const channels = section({
    title: 'Channels',
    empty: 'No channels yet',
    add: { label: 'Create channel', onclick: actions.createChannel },
  });
  const browse = el('button', { type: 'button', class: 'room-link room-action', onclick: actions.browseChannels },
    el('span', { class: 'room-icon', 'aria-hidden': 'true' }, icon('compass', { size: 16 })),
    el('span', { class: 'room-name' }, 'Browse channels'));
  channels.body.append(browse);
  const direct = section({
    title: 'Direct messages',
    empty: 'No conversations yet',
    add: { label: 'New message', onclick: actions.newMessage },
  });

  const node = el('nav', { id, class: 'sidebar', 'aria-label': 'Sidebar' },
    rail.node,
    el('div', { class: 'sidebar-column' },
      el('header', { class: 'sidebar-header' },
        el('img', { class: 'sidebar-logo', src: '/icons/favicon.svg', alt: '', width: 24, height: 24 }),
        title,
        closeButton,
      ),
      el('div', { class: 'sidebar-body' }, channels.node, direct.node),
      el('footer', { class: 'sidebar-footer' }, account.node, settings, bell.node),
    ),
  );

  function render() {
    const team = state.team();
    title.textContent = team ? teamLabel(team) : siteName;
    title.title = title.textContent;
    rail.render();

    // Keep keyboard focus on the same room across a redraw.
    const focusedId = document.activeElement?.closest?.('.sidebar [data-channel-id]')?.dataset.channelId;

    const hasTeam = Boolean(team);
    channels.add.hidden = !hasTeam;
    browse.hidden = !hasTeam;
    const rooms = hasTeam ? state.teamRooms() : [];
    channels.list.replaceChildren(...rooms.map((c) => roomItem(c, true)), ...state.orphanDiscussions().map((c) => roomItem(c, false)));
    channels.emptyNote.hidden = rooms.length > 0;
    channels.emptyNote.textContent = hasTeam ? 'No channels yet' : 'Create or join a team to see its channels';

    const dms = state.directRooms();
    direct.list.replaceChildren(...dms.map((c) => roomItem(c, true)));
    direct.emptyNote.hidden = dms.length > 0;

    if (focusedId) node.querySelector(`[data-channel-id="${CSS.escape(focusedId)}"]`)?.focus({ preventScroll: true });
  }

  function roomItem(c, withChildren) {
    const current = c.id === state.currentId;
    const unread = !current && c.unread_count > 0;
    const mentions = current ? 0 : c.mention_count || 0;
    const name = state.roomName(c);
    const ringing = state.ringing?.has(c.id);
    const link = el('a', {
      class: ['room-link', unread && 'is-unread', c.archived_at && 'is-archived', ringing && 'is-ringing'],
      href: `/channels/${encodeURIComponent(c.id)}`,
      'aria-current': current ? 'page' : null,
      dataset: { channelId: c.id, unread: String(unread || mentions > 0), type: c.type },
      title: name,
    },
    roomIcon(c),
    el('span', { class: 'room-name' }, name),
    unread && !mentions ? el('span', { class: 'visually-hidden' }, ', unread') : null,
    ringing ? el('span', { class: 'room-ringing', title: 'Incoming call' }, icon('phoneIncoming', { size: 14 }), el('span', { class: 'visually-hidden' }, ', incoming call')) : null,
    mentions ? el('span', { class: 'badge', 'aria-label': `, ${mentions} ${mentions === 1 ? 'mention' : 'mentions'}` }, mentions > 99 ? '99+' : String(mentions)) : null,
    );
    link.addEventListener('click', (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      actions.openRoom(c.id);
    });
    const kids = withChildren ? state.discussions(c.id) : [];
    return el('li', null, link, kids.length
      ? el('ul', { class: 'room-list room-sublist', role: 'list', 'aria-label': `Discussions in ${name}` }, kids.map((k) => roomItem(k, false)))
      : null);
  }

  function roomIcon(c) {
    if (c.type === 'dm') {
      const other = state.otherMember(c) || state.me.id;
      return el('span', { class: 'room-icon room-icon-dm', 'aria-hidden': 'true' }, presenceDot(other, state.presence(other)));
    }
    const name = {
      private: 'lock', group: 'users', discussion: 'discussion', public: 'hash',
    }[c.type] || 'hash';
    return el('span', { class: 'room-icon', 'aria-hidden': 'true' }, icon(c.archived_at ? 'archive' : name, { size: 16 }));
  }

  const offs = ['channels', 'teams', 'current', 'users'].map((evt) => state.on(evt, render));
  render();

  return {
    node,
    render,
    setUser: account.setUser,
    closeMenu: account.close,
    destroy: () => offs.forEach((off) => off()),
  };
}

/** section is a collapsible group of rooms with a heading button (disclosure pattern) and an add button. */
function section({ title, empty, add }) {
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
  const addButton = el('button', {
    type: 'button',
    class: 'icon-button section-add',
    'aria-label': add.label,
    title: add.label,
    onclick: add.onclick,
  }, icon('plus', { size: 16 }));
  const node = el('section', { class: 'sidebar-section' },
    el('div', { class: 'section-head' }, el('h2', { class: 'section-title' }, toggle), addButton),
    body);
  return { node, list, emptyNote, body, add: addButton };
}

/** notificationBell turns desktop notifications on and off (a user gesture asks for permission). */
function notificationBell() {
  const button = el('button', { type: 'button', class: 'icon-button bell-button' });
  const draw = (note) => {
    const on = notifications.enabled();
    button.replaceChildren(icon(on ? 'bell' : 'bellOff', { size: 18 }));
    button.setAttribute('aria-pressed', String(on));
    button.setAttribute('aria-label', 'Desktop notifications');
    button.title = note || (on
      ? 'Desktop notifications are on for mentions and direct messages'
      : 'Turn on desktop notifications for mentions and direct messages');
  };
  button.addEventListener('click', async () => {
    if (!notifications.supported()) {
      draw('This browser cannot show notifications here (they need HTTPS)');
      return;
    }
    const res = await notifications.toggle();
    draw(res.denied ? 'Notifications are blocked for this site in the browser settings' : '');
  });
  draw();
  return { node: button };
}

