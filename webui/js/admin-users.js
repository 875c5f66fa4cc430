// admin-users.js is the console's users page: find people, create accounts,
// invite by link, change roles, deactivate and reactivate, and hand out
// one-time password reset links. Pending invites are listed under the users.
import * as admin from './admin-api.js';
import { el } from './dom.js';
import { icon } from './icons.js';
import { avatar, displayName } from './avatar.js';
import { openDialog, confirmDialog, textField } from './dialog.js';
import { sentence } from './auth-card.js';
import {
  pageHead, section, dataTable, statusLine, errorBox, loading, missingRoute, copyField, pager, selectField,
} from './admin-widgets.js';
import { dateTime, date } from './admin-format.js';

const LIMIT = 50;
const ROLES = [['member', 'Member'], ['admin', 'Admin'], ['guest', 'Guest']];
const ROLE_LABEL = Object.fromEntries(ROLES);
const EXPIRIES = [['24h', '1 day'], ['168h', '7 days'], ['720h', '30 days']];
const SEARCH_DELAY_MS = 250;

/** usersPage returns {node, load(), refresh(), destroy()}. */
export function usersPage(ctx) {
  const createButton = el('button', { type: 'button', class: 'button button-primary' }, icon('userPlus', { size: 16 }), 'Create user');
  const inviteButton = el('button', { type: 'button', class: 'button button-secondary' }, icon('link', { size: 16 }), 'Invite people');
  const head = pageHead({
    title: 'Users',
    text: 'Everyone with an account on this server. Deactivating someone signs them out everywhere at once and ends their calls.',
    actions: [inviteButton, createButton],
  });

  // ---------- Filters ----------
  const search = el('input', {
    type: 'search', class: 'input admin-search', placeholder: 'Search by name or username', 'aria-label': 'Search users', autocomplete: 'off',
  });
  const role = el('select', { class: 'input select admin-filter', 'aria-label': 'Role' },
    el('option', { value: '' }, 'All roles'), ROLES.map(([v, l]) => el('option', { value: v }, l)));
  const statusFilter = el('select', { class: 'input select admin-filter', 'aria-label': 'Status' },
    el('option', { value: '' }, 'Active and deactivated'), el('option', { value: 'active' }, 'Active'), el('option', { value: 'deactivated' }, 'Deactivated'));
  const filters = el('form', { class: 'admin-filters', role: 'search', 'aria-label': 'Find users' },
    el('span', { class: 'admin-search-wrap' }, el('span', { class: 'search-icon', 'aria-hidden': 'true' }, icon('search', { size: 16 })), search),
    role, statusFilter);
  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    loadUsers(0);
  });
  let searchTimer = null;
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => loadUsers(0), SEARCH_DELAY_MS);
  });
  role.addEventListener('change', () => loadUsers(0));
  statusFilter.addEventListener('change', () => loadUsers(0));

  const status = statusLine();
  const list = el('div', { class: 'admin-users-list' }, loading());
  const pages = pager({ limit: LIMIT, onPage: (offset) => loadUsers(offset), label: 'User pages' });
  const usersSection = section({ title: 'People' });
  usersSection.body.append(filters, status.node, list, pages.node);

  const inviteList = el('div', null);
  const invitesSection = section({
    title: 'Invite links',
    text: 'Links made with "Invite people". Revoke one to make it stop working; used-up and expired ones can be removed.',
  });
  invitesSection.body.append(inviteList);

  const node = el('div', { class: 'admin-page-inner' }, head.node, usersSection.node, invitesSection.node);

  let offset = 0;
  let token = 0;
  let rows = [];

  async function loadUsers(at = offset) {
    const mine = ++token;
    const params = { q: search.value.trim(), role: role.value, status: statusFilter.value, limit: LIMIT, offset: at };
    try {
      const res = await admin.users(params);
      if (mine !== token) return;
      // A server that does not filter or page sends everyone: filter here.
      let found = res.users;
      if (!res.paged) {
        found = filterLocally(found, params);
        res.total = found.length;
        found = found.slice(at, at + LIMIT);
      }
      offset = at;
      rows = found;
      drawUsers();
      pages.set(at, found.length, res.total);
    } catch (err) {
      if (mine !== token) return;
      if (err.status === 403) {
        ctx.onForbidden();
        return;
      }
      list.replaceChildren(errorBox(`Could not load the users: ${err.message}`, { onRetry: () => loadUsers() }));
    }
  }

  function drawUsers() {
    const me = ctx.me();
    list.replaceChildren(dataTable({
      caption: 'Users',
      columns: [
        { label: 'User', className: 'col-user' },
        { label: 'Role', className: 'col-role' },
        { label: 'Status', className: 'col-status' },
        { label: 'Joined', className: 'col-date' },
        { label: 'Last seen', className: 'col-date' },
        { label: 'Actions', className: 'col-actions' },
      ],
      rows: rows.map((u) => ({ attrs: { dataset: { userId: u.id, username: u.username } }, cells: userCells(u, me) })),
      empty: search.value || role.value || statusFilter.value ? 'Nobody matches these filters.' : 'No users yet.',
    }));
  }

  function userCells(u, me) {
    const name = displayName(u);
    const deactivated = Boolean(u.deactivated_at);
    const roleSelect = el('select', { class: 'input select admin-role', 'aria-label': `Role of ${u.username}`, disabled: u.is_bot },
      ROLES.map(([v, l]) => el('option', { value: v, selected: v === u.role }, l)));
    roleSelect.addEventListener('change', () => changeRole(u, roleSelect));
    const actions = [];
    const reset = el('button', { type: 'button', class: 'button button-secondary button-small', 'aria-label': `Reset password of ${u.username}` }, 'Reset password');
    reset.addEventListener('click', () => resetPassword(u, reset));
    if (!u.is_bot && !deactivated) actions.push(reset);
    if (u.id !== me?.id) {
      const toggle = el('button', {
        type: 'button',
        class: ['button', 'button-small', deactivated ? 'button-secondary' : 'button-danger-outline'],
        'aria-label': `${deactivated ? 'Reactivate' : 'Deactivate'} ${u.username}`,
      }, deactivated ? 'Reactivate' : 'Deactivate');
      toggle.addEventListener('click', () => setActive(u, deactivated, toggle));
      actions.push(toggle);
    }
    return [
      el('div', { class: 'admin-user' }, avatar(u), el('div', { class: 'admin-user-names' },
        el('span', { class: 'admin-user-name' }, name, u.id === me?.id ? el('span', { class: 'admin-you' }, ' (you)') : null),
        el('span', { class: 'admin-user-handle' }, `@${u.username}`, u.is_bot ? ' · bot' : ''))),
      roleSelect,
      el('span', { class: ['admin-pill', deactivated ? 'is-off' : 'is-on'] }, deactivated ? 'Deactivated' : 'Active'),
      el('span', { title: dateTime(u.created_at) }, date(u.created_at)),
      u.last_seen_at ? el('span', { title: dateTime(u.last_seen_at) }, date(u.last_seen_at)) : el('span', { class: 'admin-muted' }, '–'),
      el('div', { class: 'admin-actions' }, actions),
    ];
  }

  async function changeRole(u, select) {
    const next = select.value;
    const me = ctx.me();
    if (u.id === me?.id && next !== 'admin') {
      const ok = await confirmDialog({
        title: 'Give up admin rights?',
        text: 'You will no longer see the system console. Another admin can give the rights back.',
        confirmLabel: 'Change my role',
        danger: true,
      });
      if (!ok) {
        select.value = u.role;
        return;
      }
    }
    select.disabled = true;
    try {
      const updated = await admin.updateUser(u.id, { role: next });
      Object.assign(u, updated && updated.id ? updated : { role: next });
      if (u.id === me?.id && u.role !== 'admin') {
        ctx.state.setMe({ ...me, role: u.role });
        ctx.onForbidden();
        return;
      }
      status.set(`@${u.username} is now ${{ admin: 'an admin', member: 'a member', guest: 'a guest' }[u.role] || u.role}`, { kind: 'ok', clearAfter: 5000 });
    } catch (err) {
      select.value = u.role;
      status.set(err.code === 'last_admin'
        ? 'The last active admin cannot be demoted: make someone else an admin first'
        : missingRoute(err) ? 'This server cannot change roles yet' : `Could not change the role: ${err.message}`, { kind: 'error' });
    } finally {
      select.disabled = Boolean(u.is_bot);
    }
  }

  async function setActive(u, activate, button) {
    if (!activate) {
      const ok = await confirmDialog({
        title: `Deactivate ${u.username}?`,
        text: `${displayName(u)} is signed out on every device at once, and any call they are in ends for them. Their messages stay. You can reactivate the account later.`,
        confirmLabel: 'Deactivate',
        danger: true,
      });
      if (!ok) return;
    }
    button.disabled = true;
    try {
      await admin.setActive(u.id, activate);
      status.set(activate ? `@${u.username} is active again` : `@${u.username} is deactivated and signed out everywhere`, { kind: 'ok', clearAfter: 6000 });
      await loadUsers();
    } catch (err) {
      button.disabled = false;
      status.set(`Could not ${activate ? 'reactivate' : 'deactivate'} @${u.username}: ${err.message}`, { kind: 'error' });
    }
  }

  async function resetPassword(u, button) {
    button.disabled = true;
    try {
      const res = await admin.resetLink(u.id);
      linkDialog({
        title: `Password reset link for ${u.username}`,
        text: `Send this link to ${displayName(u)}. It works once${res.expires_at ? `, until ${dateTime(res.expires_at)}` : ''}; their current sessions end when they use it.`,
        label: 'Reset link',
        url: res.url,
      });
    } catch (err) {
      status.set(missingRoute(err) ? 'This server cannot make reset links yet' : `Could not make a reset link: ${err.message}`, { kind: 'error' });
    } finally {
      button.disabled = false;
    }
  }

  // ---------- Create user ----------
  createButton.addEventListener('click', () => {
    const username = textField({ label: 'Username', name: 'username', required: true, maxlength: 64, hint: 'Letters, digits, ".", "_" or "-".' });
    const display = textField({ label: 'Display name (optional)', name: 'display_name', maxlength: 64 });
    const password = textField({ label: 'Password', name: 'password', required: true, autocomplete: 'new-password', hint: 'Give it to them safely; they can change it later with a reset link.' });
    password.input.type = 'password';
    const roleField = selectField({ label: 'Role', name: 'role', options: ROLES, value: 'member' });
    const d = openDialog({
      title: 'Create user',
      content: [username.wrap, display.wrap, password.wrap, roleField.wrap],
      submitLabel: 'Create user',
      onSubmit: async () => {
        if (!username.input.value.trim()) throw new Error('Enter a username.');
        if (!password.input.value) throw new Error('Enter a password.');
        const body = { username: username.input.value.trim(), password: password.input.value, role: roleField.input.value };
        if (display.input.value.trim()) body.display_name = display.input.value.trim();
        const u = await admin.createUser(body);
        status.set(`Created @${u.username}`, { kind: 'ok', clearAfter: 6000 });
        search.value = '';
        await loadUsers(0);
      },
    });
    username.input.focus();
    return d;
  });

  // ---------- Invites ----------
  inviteButton.addEventListener('click', async () => {
    const roleField = selectField({ label: 'They join as', name: 'role', options: ROLES, value: 'member' });
    const teamList = await admin.teams().catch(() => []);
    const teamField = selectField({
      label: 'Team',
      name: 'team_id',
      options: [['', 'The default team'], ...teamList.map((t) => [t.id, t.display_name || t.name])],
    });
    const expires = selectField({ label: 'Link expires after', name: 'expires_in', options: EXPIRIES, value: '168h' });
    const uses = textField({ label: 'Number of sign-ups', name: 'max_uses', value: '1', hint: '1: a one-time link for one person.' });
    uses.input.inputMode = 'numeric';
    let created = null;
    openDialog({
      title: 'Invite people',
      description: 'Make a link that lets people create their own account.',
      content: [roleField.wrap, teamField.wrap, expires.wrap, uses.wrap],
      submitLabel: 'Create invite link',
      onSubmit: async () => {
        const n = Number(uses.input.value.trim() || '1');
        if (!Number.isInteger(n) || n < 1) throw new Error('The number of sign-ups must be a whole number of at least 1.');
        const body = { role: roleField.input.value, expires_in: expires.input.value, max_uses: n };
        if (teamField.input.value) body.team_id = teamField.input.value;
        try {
          created = await admin.createInvite(body);
        } catch (err) {
          if (missingRoute(err)) throw new Error('This server cannot make invite links yet.');
          throw err;
        }
      },
      onClose: () => {
        if (!created) return;
        linkDialog({
          title: 'Invite link',
          text: `Anyone with this link can create ${created.max_uses > 1 ? `up to ${created.max_uses} accounts` : 'one account'} as ${(ROLE_LABEL[created.role] || created.role).toLowerCase()}${created.expires_at ? `, until ${dateTime(created.expires_at)}` : ''}.`,
          label: 'Invite link',
          url: created.url,
        });
        loadInvites();
      },
    });
  });

  async function loadInvites() {
    try {
      const list = await admin.invites();
      invitesSection.node.hidden = false;
      const teamNames = new Map((await admin.teams().catch(() => [])).map((t) => [t.id, t.display_name || t.name]));
      await ctx.ensureUsers?.(list.map((inv) => inv.created_by).filter(Boolean));
      inviteList.replaceChildren(dataTable({
        caption: 'Invite links',
        columns: [
          { label: 'Role' }, { label: 'Team' }, { label: 'Status' }, { label: 'Sign-ups' }, { label: 'Expires' }, { label: 'Made by' },
          { label: 'Actions', className: 'col-actions' },
        ],
        rows: list.map((inv) => {
          const state = inviteState(inv);
          const label = state === 'usable' ? 'Revoke' : 'Remove';
          const revoke = el('button', { type: 'button', class: 'button button-small button-danger-outline', 'aria-label': `${label} invite link made ${dateTime(inv.created_at)}` }, label);
          revoke.addEventListener('click', () => revokeInvite(inv, revoke, state === 'usable'));
          return {
            attrs: { dataset: { inviteId: inv.id, state } },
            cells: [
              ROLE_LABEL[inv.role] || inv.role,
              inv.team_id ? (teamNames.get(inv.team_id) || inv.team_id) : 'Default team',
              el('span', { class: ['admin-pill', state === 'usable' ? 'is-on' : 'is-off'] }, { usable: 'Usable', used: 'Used up', expired: 'Expired' }[state]),
              `${inv.uses || 0} of ${inv.max_uses || 1}`,
              el('span', { title: dateTime(inv.expires_at) }, dateTime(inv.expires_at)),
              inv.created_by ? ctx.state.userName(inv.created_by) : '',
              el('div', { class: 'admin-actions' }, revoke),
            ],
          };
        }),
        empty: 'No invite links. Use "Invite people" to make one.',
      }));
    } catch (err) {
      if (missingRoute(err)) {
        invitesSection.node.hidden = true;
        return;
      }
      inviteList.replaceChildren(errorBox(`Could not load the invites: ${err.message}`, { onRetry: loadInvites }));
    }
  }

  async function revokeInvite(inv, button, usable) {
    if (usable) {
      const ok = await confirmDialog({
        title: 'Revoke this invite?', text: 'Its link stops working at once. Accounts already made with it stay.', confirmLabel: 'Revoke', danger: true,
      });
      if (!ok) return;
    }
    button.disabled = true;
    try {
      await admin.revokeInvite(inv.id);
      status.set(usable ? 'Invite revoked' : 'Invite removed', { kind: 'ok', clearAfter: 5000 });
      await loadInvites();
    } catch (err) {
      button.disabled = false;
      status.set(`Could not revoke the invite: ${err.message}`, { kind: 'error' });
    }
  }

  return {
    node,
    load: () => Promise.all([loadUsers(0), loadInvites()]),
    refresh: () => Promise.all([loadUsers(), loadInvites()]),
    destroy: () => clearTimeout(searchTimer),
  };
}

/** linkDialog shows a one-time link with a Copy button. */
function linkDialog({ title, text, label, url }) {
  const field = copyField({ label, value: url });
  const d = openDialog({
    title,
    content: [el('p', { class: 'dialog-text' }, sentence(text)), field.node],
    className: 'dialog-wide admin-link-dialog',
  });
  field.button.focus();
  return d;
}

function inviteState(inv) {
  if ((inv.uses || 0) >= (inv.max_uses || 1)) return 'used';
  if (inv.expires_at && Date.parse(inv.expires_at) <= Date.now()) return 'expired';
  return 'usable';
}

function filterLocally(list, { q, role, status }) {
  const needle = q.toLowerCase();
  return list.filter((u) => (!needle || u.username.toLowerCase().includes(needle) || (u.display_name || '').toLowerCase().includes(needle))
    && (!role || u.role === role)
    && (!status || (status === 'active') === !u.deactivated_at));
}
