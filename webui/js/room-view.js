// room-view.js is an open room: its header (name, topic, call, call history
// and members buttons), the message list, and at the bottom the composer, a
// "join" bar for a public channel you only read, or a read-only banner once
// archived. Files dropped anywhere on the room are attached to the composer.
import * as api from './api.js';
import { el } from './dom.js';
import { icon } from './icons.js';
import { displayName, presenceDot } from './avatar.js';
import { isDirect } from './state.js';
import { composer } from './composer.js';
import { messageList } from './message-list.js';
import { callButton, roomCallBar } from './room-call-bar.js';
import { roomMenuItems, toggleRoomMenu } from './room-menu.js';

/**
 * roomView returns the view of one room for the shell:
 * {node, header, channelId, load(), focus(), update(channel), destroy(), ...}
 * with the live-update hooks chat.js calls.
 */
export function roomView({ chat, channel, member }) {
  const { state } = chat;
  let c = channel;
  let isMember = member;
  let memberCount = null;

  const name = () => state.roomName(c);
  const canPost = () => isMember && !c.archived_at;

  const postCtx = {
    get canPost() { return canPost(); },
    onReact: (post, emoji) => chat.react(post, emoji),
    onPickReaction: (post, anchor) => chat.pickReaction(post, anchor),
    onOpenThread: (post) => chat.openThread(post.id),
    onEdit: (post) => list.edit(post.id),
    onDelete: (post) => chat.confirmDelete(post),
    // A discussion starts from a message of a room that is not itself a discussion.
    get onStartDiscussion() { return c.type === 'discussion' ? null : (post) => chat.startDiscussion(post); },
    get archived() { return Boolean(c.archived_at); },
  };

  const list = messageList({
    state,
    mode: 'channel',
    label: `Messages in ${name()}`,
    intro,
    loadOlder: (before) => api.posts(c.id, { before }),
    ctx: postCtx,
    onSaveEdit: (post, message) => chat.saveEdit(post, message),
  });

  // ---------- Header ----------
  const titleIcon = el('span', { class: 'room-title-icon', 'aria-hidden': 'true' });
  const titleText = el('span', { class: 'room-title-text' });
  const title = el('h1', { class: 'topbar-title room-title', tabindex: '-1' }, titleIcon, titleText);
  const topic = el('p', { class: 'room-topic' });
  const membersButton = el('button', {
    type: 'button',
    class: 'header-button',
    onclick: () => chat.openMembers(),
  }, icon('users', { size: 16 }), el('span', { class: 'header-count' }));
  const historyButton = el('button', {
    type: 'button',
    class: 'header-button header-history',
    'aria-label': 'Call history',
    title: 'Past calls in this room',
    onclick: () => chat.openCalls(),
  }, icon('clock', { size: 16 }));
  const call = callButton({ calls: chat.calls, channel: c });
  // No call button where an admin turned calls off for this kind of room;
  // it comes and goes live with the settings_changed event.
  const drawCallButton = () => { call.node.hidden = !state.callsAllowed(c); };
  drawCallButton();
  const menuButton = el('button', {
    type: 'button',
    class: 'header-button room-menu-button',
    'aria-label': 'Room settings',
    'aria-haspopup': 'menu',
    'aria-expanded': 'false',
    title: 'Room settings',
    onclick: () => toggleRoomMenu(menuButton, { chat, channel: c, member: isMember }),
  }, icon('moreVertical', { size: 16 }));
  const header = el('div', { class: 'room-header' },
    el('div', { class: 'room-heading' }, title, topic),
    call.node,
    historyButton,
    membersButton,
    menuButton);

  function drawHeader() {
    titleText.textContent = name();
    if (c.type === 'dm') {
      const other = state.otherMember(c) || state.me.id;
      titleIcon.replaceChildren(presenceDot(other, state.presence(other)));
      titleIcon.className = 'room-title-icon room-title-dm';
    } else {
      const kind = { private: 'lock', group: 'users', discussion: 'discussion' }[c.type] || 'hash';
      titleIcon.replaceChildren(icon(c.archived_at ? 'archive' : kind, { size: 18 }));
      titleIcon.className = 'room-title-icon';
    }
    topic.textContent = c.header || c.purpose || '';
    topic.hidden = !topic.textContent;
    topic.title = topic.textContent;
    const count = membersButton.querySelector('.header-count');
    count.textContent = memberCount == null ? '' : String(memberCount);
    membersButton.setAttribute('aria-label', memberCount == null ? 'Members' : `Members: ${memberCount}`);
    membersButton.title = 'Show members';
    // Someone who may do nothing here (reading a public channel) gets no menu.
    menuButton.hidden = roomMenuItems({ chat, channel: c, member: isMember }).length === 0;
  }

  function intro() {
    const box = el('div', { class: 'room-intro' });
    if (isDirect(c)) {
      const others = (c.member_ids || []).filter((id) => id !== state.me.id).map((id) => state.user(id));
      box.append(
        el('h2', { class: 'room-intro-title' }, name()),
        el('p', { class: 'room-intro-text' }, others.length
          ? `This is the beginning of your conversation with ${others.map(displayName).join(', ')}. Only the people here can see it.`
          : 'This is your space. Draft messages, keep notes or links.'),
      );
    } else {
      box.append(
        el('div', { class: 'room-intro-icon', 'aria-hidden': 'true' }, icon(c.type === 'private' ? 'lock' : 'hash', { size: 24 })),
        el('h2', { class: 'room-intro-title' }, `Welcome to ${name()}`),
        el('p', { class: 'room-intro-text' }, c.purpose || (c.type === 'private'
          ? 'This is the start of this private channel. Only invited members can see it.'
          : 'This is the start of this channel. Everyone in the team can join it.')),
      );
    }
    return box;
  }

  // ---------- Footer ----------
  const footer = el('div', { class: 'room-footer' });
  let box = null;

  function drawFooter() {
    box?.destroy();
    box = null;
    if (c.archived_at) {
      footer.replaceChildren(el('div', { class: 'read-only-banner', role: 'status' },
        icon('archive', { size: 18 }),
        el('span', null, 'You are viewing an archived room. It is read-only: new messages cannot be posted.')));
      return;
    }
    if (!isMember) {
      const join = el('button', { type: 'button', class: 'button button-primary' }, 'Join channel');
      join.addEventListener('click', async () => {
        join.disabled = true;
        try {
          await chat.join(c.id);
        } catch (err) {
          join.disabled = false;
          chat.showError(`Could not join: ${err.message}`);
        }
      });
      footer.replaceChildren(el('div', { class: 'join-bar' },
        el('span', null, `You are reading ${name()}.`), join));
      return;
    }
    box = composer({
      channelId: c.id,
      label: `Write to ${name()}`,
      placeholder: `Write to ${isDirect(c) ? name() : `#${c.name || name()}`}`,
      onSend: (message, fileIds) => chat.sendPost(c.id, { message, file_ids: fileIds }),
      onCommand: (text) => chat.runCommand(c.id, text, { onEphemeral: (t) => list.addEphemeral(t) }),
      onTyping: () => chat.typing.typed(c.id),
      onEditLast: () => list.editLast(),
    });
    footer.replaceChildren(box.node);
    box.setTyping(chat.typing.text(c.id));
  }

  // ---------- Drop files ----------
  const dropHint = el('div', { class: 'drop-hint', hidden: true, 'aria-hidden': 'true' },
    el('div', { class: 'drop-hint-inner' }, icon('paperclip', { size: 28 }), el('span', null, `Drop files to share in ${name()}`)));
  const callBar = roomCallBar({ calls: chat.calls, state, channelId: c.id });
  const node = el('section', { class: 'room', 'aria-label': name() }, callBar.node, list.node, footer, dropHint);
  let dragDepth = 0;
  const hasFiles = (event) => [...(event.dataTransfer?.types || [])].includes('Files');
  node.addEventListener('dragenter', (event) => {
    if (!hasFiles(event) || !box) return;
    event.preventDefault();
    dragDepth += 1;
    dropHint.hidden = false;
  });
  node.addEventListener('dragover', (event) => {
    if (!hasFiles(event) || !box) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
  });
  node.addEventListener('dragleave', () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) dropHint.hidden = true;
  });
  node.addEventListener('drop', (event) => {
    if (!hasFiles(event) || !box) return;
    event.preventDefault();
    dragDepth = 0;
    dropHint.hidden = true;
    box.addFiles(event.dataTransfer.files);
    box.focus();
  });

  const offTyping = chat.typing.on(() => box?.setTyping(chat.typing.text(c.id)));
  const offUsers = state.on('users', drawHeader);
  const offSettings = state.on('settings', drawCallButton);

  drawHeader();
  drawFooter();

  async function load() {
    chat.calls.watchRoom(c.id);
    const [page, members] = await Promise.allSettled([api.posts(c.id, { limit: 50 }), api.channelMembers(c.id)]);
    if (members.status === 'fulfilled') {
      state.addUsers(members.value);
      memberCount = members.value.length;
      drawHeader();
    }
    if (page.status === 'rejected') throw page.reason;
    const posts = page.value.posts || [];
    await chat.ensureUsers(posts.map((p) => p.user_id));
    for (const p of posts) chat.seen.add(p.id);
    list.setPage(posts, page.value.has_more);
  }

  return {
    node,
    header,
    list,
    get channelId() { return c.id; },
    get title() { return name(); },
    load,
    focus: () => (box ? box.focus() : title.focus({ preventScroll: true })),
    focusTitle: () => title.focus({ preventScroll: true }),

    /** update takes a newer copy of the room (rename, header, archive) and/or a membership change. */
    update(next, { member: nowMember } = {}) {
      const wasArchived = Boolean(c.archived_at);
      const wasMember = isMember;
      if (next?.id) c = { ...next, member_ids: next.member_ids || c.member_ids };
      if (nowMember !== undefined) isMember = nowMember;
      call.update(c);
      drawCallButton();
      drawHeader();
      node.setAttribute('aria-label', name());
      if (wasArchived !== Boolean(c.archived_at) || wasMember !== isMember) {
        drawFooter();
        list.refresh();
      }
    },

    setMemberCount(n) {
      memberCount = n;
      drawHeader();
    },

    changeMemberCount(delta) {
      if (memberCount == null) return;
      memberCount = Math.max(0, memberCount + delta);
      drawHeader();
    },

    highlight: (id) => list.highlight(id),

    destroy() {
      box?.destroy();
      list.destroy();
      call.destroy();
      callBar.destroy();
      offTyping();
      offUsers();
      offSettings();
    },
  };
}
