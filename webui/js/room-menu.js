// room-menu.js is the "Room settings" menu of a room's header and the
// dialogs it opens: rename, header and purpose, start a discussion, archive
// or unarchive, leave, delete. It offers only what the server would allow
// this user (see state.canManage); when the server still refuses, its own
// message is shown.
import * as api from './api.js';
import { el } from './dom.js';
import { isDirect } from './state.js';
import { openMenu, popoverOpenFor, closePopover } from './popover.js';
import { confirmDialog, openDialog, textField } from './dialog.js';
import { userPicker } from './user-picker.js';

/** roomMenuItems lists the menu entries for a room (see openMenu's items). */
export function roomMenuItems({ chat, channel: c, member }) {
  const { state } = chat;
  const manage = state.canManage(c, member);
  const open = member && !c.archived_at;
  return [
    manage && !c.archived_at ? { label: 'Rename…', icon: 'edit', onSelect: () => renameDialog({ chat, channel: c }) } : null,
    open ? { label: 'Edit header and purpose…', icon: 'edit', onSelect: () => headerDialog({ chat, channel: c }) } : null,
    open && c.type !== 'discussion' ? { label: 'Start a discussion…', icon: 'discussion', onSelect: () => discussionDialog({ chat, parent: c }) } : null,
    manage && !c.archived_at ? { label: 'Archive room', icon: 'archive', onSelect: () => chat.setArchived(c, true) } : null,
    manage && c.archived_at ? { label: 'Unarchive room', icon: 'archive', onSelect: () => chat.setArchived(c, false) } : null,
    member && !isDirect(c) && c.name !== 'town-square' ? { label: 'Leave room', icon: 'logout', onSelect: () => chat.leaveRoom(c) } : null,
    manage ? 'separator' : null,
    manage ? { label: 'Delete room…', icon: 'trash', danger: true, onSelect: () => chat.deleteRoom(c) } : null,
  ].filter(Boolean);
}

/** toggleRoomMenu opens the menu under its button, or closes it when open. */
export function toggleRoomMenu(anchor, opts) {
  if (popoverOpenFor(anchor)) {
    closePopover();
    return;
  }
  const items = roomMenuItems(opts);
  if (!items.length) return;
  openMenu(anchor, items, { label: 'Room settings' });
}

function renameDialog({ chat, channel: c }) {
  const name = textField({ label: 'Display name', name: 'display_name', value: c.display_name || c.name || '', required: true, maxlength: 64 });
  const d = openDialog({
    title: `Rename ${chat.state.roomName(c)}`,
    content: [name.wrap],
    submitLabel: 'Rename',
    className: 'dialog-small',
    onSubmit: async () => {
      const value = name.input.value.trim();
      if (!value) {
        name.input.focus();
        throw new Error('Give the room a name.');
      }
      chat.channelUpdated(await api.updateChannel(c.id, { display_name: value }));
    },
  });
  name.input.select();
  return d;
}

function headerDialog({ chat, channel: c }) {
  const header = textField({ label: 'Header', name: 'header', value: c.header || '', maxlength: 1024, hint: 'Shown under the room name.' });
  const purpose = textField({ label: 'Purpose', name: 'purpose', value: c.purpose || '', maxlength: 250, hint: 'What the room is for.' });
  const d = openDialog({
    title: `Header and purpose of ${chat.state.roomName(c)}`,
    content: [header.wrap, purpose.wrap],
    submitLabel: 'Save',
    onSubmit: async () => {
      chat.channelUpdated(await api.updateChannel(c.id, { header: header.input.value.trim(), purpose: purpose.input.value.trim() }));
    },
  });
  header.input.focus();
  return d;
}

/**
 * discussionDialog starts a discussion under parent, from one of its
 * messages when post is given. The creator is a member; the people chosen
 * join too (they must be able to read the parent room).
 */
export function discussionDialog({ chat, parent, post = null }) {
  const { state } = chat;
  const from = post?.message ? post.message.replace(/\s+/g, ' ').trim().slice(0, 60) : '';
  const name = textField({ label: 'Discussion name', name: 'display_name', value: from, required: true, maxlength: 64 });
  const picker = userPicker({ state, max: 20, label: 'People to invite (optional)' });
  const d = openDialog({
    title: post ? 'Start a discussion from this message' : `Start a discussion in ${state.roomName(parent)}`,
    description: post ? null : 'A discussion is a room of its own, shown under its parent.',
    content: [
      post ? el('blockquote', { class: 'discussion-quote' }, from || 'a message') : null,
      name.wrap,
      picker.node,
    ],
    submitLabel: 'Start discussion',
    onSubmit: async () => {
      const displayName = name.input.value.trim();
      if (!displayName) {
        name.input.focus();
        throw new Error('Give the discussion a name.');
      }
      const body = { type: 'discussion', parent_id: parent.id, display_name: displayName, user_ids: picker.selected() };
      if (post) body.parent_post_id = post.id;
      const c = await api.createChannel(body);
      state.upsertChannel(c);
      chat.openRoom(c.id);
    },
  });
  name.input.focus();
  return d;
}
