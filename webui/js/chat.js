// chat.js runs the signed-in chat: it loads teams, rooms and people, opens
// rooms and panels, sends posts, and applies every websocket event to the
// state and to whatever views are open. Views call back into it for
// anything that talks to the server.
import * as api from './api.js';
import { setPresence } from './avatar.js';
import { ChatState, isDirect, CALL_KIND_NAMES } from './state.js';
import { Typing } from './typing.js';
import { Router, roomFromPath, adminPageFromPath } from './router.js';
import { adminConsole } from './admin-console.js';
import { publicSettings } from './admin-api.js';
import * as notifications from './notifications.js';
import { confirmDialog } from './dialog.js';
import { sentence } from './auth-card.js';
import { openEmojiPicker } from './emoji-picker.js';
import { roomView } from './room-view.js';
import { threadPanel } from './thread-panel.js';
import { membersPanel } from './members-panel.js';
import { searchPanel } from './search-panel.js';
import { callsPanel } from './calls-panel.js';
import { createTeamDialog } from './create-team-dialog.js';
import { createChannelDialog } from './create-channel-dialog.js';
import { browseChannelsDialog } from './browse-channels-dialog.js';
import { newMessageDialog } from './new-message-dialog.js';
import { addPeopleDialog } from './add-people-dialog.js';
import { discussionDialog } from './room-menu.js';
import { teamMembersDialog } from './team-members-dialog.js';
import { Calls } from './call-controller.js';
import { bindCards } from './call-card.js';
import { callLinkFromPath, noAccessView } from './call-link.js';

const TEAM_KEY = 'calls.team';
const LAST_ROOM_KEY = 'calls.lastRoom.';
const READ_DELAY_MS = 600;
const REFETCH_DELAY_MS = 250;
const IDLE_MS = 5 * 60 * 1000;

export class Chat {
  /**
   * shell: {setMain(view|null), setPanel(panel|null), closeDrawer(),
   *         showError(text), showNotice(text), narrow()}
   */
  constructor({ me, socket, shell, siteName }) {
    this.state = new ChatState(me);
    this.socket = socket;
    this.shell = shell;
    this.siteName = siteName;
    this.typing = new Typing({ state: this.state, socket });
    this.router = new Router(
      (id) => (id ? this.openRoom(id, { push: false }) : this.openDefault({ push: false })),
      (page) => this.openAdmin(page, { push: false }),
    );
    this.seen = new Set();
    this.roomView = null;
    this.adminView = null; // the system console, when it is open instead of a room
    this.channel = null; // the open room as loaded (also when not a member)
    this.panel = null;
    this.userFetches = new Map();
    this.readTimers = new Map();
    this.refetchTimer = null;
    this.openToken = 0;
    this.leaving = null; // a room we asked to leave (/leave), to word the notice
    this.lateEdits = null; // post_edited events that came while the open room was loading
    this.away = false;
    this.lastActive = Date.now();
    this.offs = [];

    this.calls = new Calls({
      socket,
      state: this.state,
      ui: {
        showError: (text) => shell.showError(text),
        showNotice: (text) => shell.showNotice(text),
        openRoom: (id) => this.openRoom(id),
        openThread: (channelId, postId) => (this.channel?.id === channelId
          ? this.openThread(postId)
          : this.openRoom(channelId, { thread: postId })),
        isOpen: (id) => this.roomView?.channelId === id,
        ensureUsers: (ids) => this.ensureUsers(ids),
        mountView: (node) => shell.mountCallView(node),
        mountWidget: (node) => shell.mountCallWidget(node),
        channel: (id) => this.state.channel(id) || (this.channel?.id === id ? this.channel : null),
        roomName: (id) => {
          const c = this.state.channel(id) || (this.channel?.id === id ? this.channel : null);
          return c ? this.state.roomName(c) : 'this room';
        },
      },
    });
    this.offs.push(bindCards(this.calls));
    this.offs.push(this.calls.on('no_access', (id) => {
      if (this.callLink === id) this.showNoAccess();
    }));

    const on = (type, fn) => this.offs.push(socket.on(type, (data) => fn.call(this, data || {})));
    on('post_created', (d) => this.postCreated(d.post));
    on('post_edited', (d) => this.postEdited(d.post));
    on('post_deleted', (d) => this.postDeleted(d));
    on('reaction_added', (d) => this.reaction(d, true));
    on('reaction_removed', (d) => this.reaction(d, false));
    on('channel_created', (d) => this.channelCreated(d.channel));
    on('channel_updated', (d) => this.channelUpdated(d.channel));
    on('channel_deleted', (d) => this.channelGone(d.channel_id, 'deleted'));
    on('member_added', (d) => this.memberAdded(d));
    on('member_removed', (d) => this.memberRemoved(d));
    on('team_member_added', (d) => this.teamMembership(d));
    on('team_member_removed', (d) => this.teamMembership(d));
    on('typing', (d) => this.typing.heard(d));
    on('presence', (d) => this.presence(d));
    on('settings_changed', (d) => this.settingsChanged(d));
    on('user_updated', (d) => this.userUpdated(d.user));
    on('hello', () => { if (this.away) this.socket.send('presence', { status: 'away' }); });

    this.offs.push(this.state.on('channels', () => this.updateTitle()));
    this.offs.push(this.state.on('current', () => this.updateTitle()));

    this.onVisible = () => {
      if (!document.hidden) {
        this.active();
        const c = this.state.channel(this.state.currentId);
        if (c && (c.unread_count || c.mention_count)) this.markRead(c.id);
      }
    };
    document.addEventListener('visibilitychange', this.onVisible);
    this.onActivity = () => this.active();
    for (const evt of ['pointerdown', 'keydown']) window.addEventListener(evt, this.onActivity, { passive: true });
    this.idleTimer = setInterval(() => this.checkIdle(), 30_000);
  }

  /** sidebarActions are the sidebar's buttons. */
  get sidebarActions() {
    return {
      openRoom: (id) => this.openRoom(id),
      selectTeam: (id) => this.selectTeam(id),
      createTeam: () => createTeamDialog({
        onCreated: async (team) => {
          await this.reloadLists();
          this.selectTeam(team.id);
        },
      }),
      createChannel: () => createChannelDialog({
        teamId: this.state.teamId,
        onCreated: (c) => {
          this.state.upsertChannel(c);
          this.openRoom(c.id);
        },
      }),
      openConsole: () => this.openAdmin('settings'),
      teamMembers: () => this.openTeamMembers(),
      browseChannels: () => browseChannelsDialog({
        state: this.state,
        teamId: this.state.teamId,
        onJoin: (c) => this.join(c.id),
        onOpen: (c) => this.openRoom(c.id),
      }),
      newMessage: () => newMessageDialog({
        state: this.state,
        onOpened: async (c) => {
          this.state.upsertChannel(c);
          if (!c.member_ids) await this.refetchChannels();
          await this.ensureUsers(this.state.channel(c.id)?.member_ids || []);
          this.openRoom(c.id);
        },
      }),
    };
  }

  // ---------- Loading ----------

  /** start loads everything and opens the room in the address bar (or a default one). */
  async start() {
    await this.load();
    const admin = adminPageFromPath();
    if (admin !== null) {
      this.openAdmin(admin, { replace: true });
      return;
    }
    const link = callLinkFromPath();
    if (link) {
      await this.openCallLink(link);
      return;
    }
    const id = roomFromPath();
    if (id) await this.openRoom(id, { replace: true });
    else await this.openDefault({ replace: true });
  }

  async load() {
    const [teams, channels, users, settings] = await Promise.allSettled([api.teams(), api.channels(), api.users(), publicSettings()]);
    if (users.status === 'fulfilled') this.state.addUsers(users.value);
    if (settings.status === 'fulfilled') this.state.setSettings(settings.value);
    if (teams.status === 'fulfilled') {
      const saved = localStorage.getItem(TEAM_KEY);
      this.state.teamId = saved;
      this.state.setTeams(teams.value);
    }
    if (channels.status === 'fulfilled') {
      this.state.setChannels(channels.value);
      await this.loadDirectPeople();
    } else {
      this.shell.showError(`Could not load your rooms: ${channels.reason.message}`);
    }
  }

  /** reloadLists refetches teams and rooms (team membership changed). */
  async reloadLists() {
    try {
      const [teams, channels] = await Promise.all([api.teams(), api.channels()]);
      this.state.setTeams(teams);
      this.state.setChannels(channels);
      await this.loadDirectPeople();
    } catch (err) {
      this.shell.showError(`Could not refresh the sidebar: ${err.message}`);
    }
  }

  async refetchChannels() {
    try {
      const list = await api.channels();
      this.state.setChannels(list);
      await this.loadDirectPeople();
      const open = this.state.channel(this.state.currentId);
      if (open && (open.unread_count || open.mention_count) && !document.hidden) this.markRead(open.id);
    } catch {
      // The next event or resync tries again.
    }
  }

  refetchSoon() {
    clearTimeout(this.refetchTimer);
    this.refetchTimer = setTimeout(() => this.refetchChannels(), REFETCH_DELAY_MS);
  }

  /** loadDirectPeople fetches the people DMs are named after. */
  async loadDirectPeople() {
    const ids = [];
    for (const c of this.state.channels.values()) if (isDirect(c)) ids.push(...(c.member_ids || []));
    await this.ensureUsers(ids);
  }

  /** ensureUsers fetches people not known yet (GET /users/{id}), each once. */
  async ensureUsers(ids) {
    const missing = this.state.missingUsers(ids).filter((id) => id !== 'system');
    if (!missing.length) return;
    const found = await Promise.all(missing.map((id) => {
      if (!this.userFetches.has(id)) this.userFetches.set(id, api.user(id).catch(() => null));
      return this.userFetches.get(id);
    }));
    this.state.addUsers(found.filter(Boolean));
  }

  /** resync refetches everything after the socket lost events. */
  async resync() {
    await this.load();
    if (this.adminView) {
      this.adminView.refresh();
      return;
    }
    const id = this.state.currentId;
    if (!id) {
      await this.openDefault({ replace: true });
      return;
    }
    this.roomView?.destroy();
    this.roomView = null;
    await this.openRoom(id, { push: false });
    // A thread or member list still open is as stale as the room was.
    if (this.panel && this.panel.kind !== 'search') this.panel.load();
  }

  // ---------- Rooms ----------

  selectTeam(teamId) {
    localStorage.setItem(TEAM_KEY, teamId);
    this.state.setTeam(teamId);
    const cur = this.state.channel(this.state.currentId);
    if (!cur || this.state.teamOf(cur) !== teamId || isDirect(cur)) this.openDefault();
  }

  /** openDefault opens the team's last room, else town-square, else the first room, else shows the empty state. */
  async openDefault({ replace = false, push = true } = {}) {
    const s = this.state;
    const rooms = s.teamRooms();
    const last = s.teamId && localStorage.getItem(LAST_ROOM_KEY + s.teamId);
    const pick = (last && s.channel(last) && s.teamOf(s.channel(last)) === s.teamId ? s.channel(last) : null)
      || rooms.find((c) => c.name === 'town-square')
      || rooms[0]
      || s.directRooms()[0];
    if (pick) {
      await this.openRoom(pick.id, { replace, push });
      return;
    }
    this.closeRoom();
    if (push) this.router.show(null, { replace: true });
  }

  closeRoom() {
    this.openToken += 1;
    this.closeAdmin();
    this.roomView?.destroy();
    this.roomView = null;
    this.channel = null;
    if (this.panel && this.panel.kind !== 'search') this.closePanel();
    this.state.setCurrent(null);
    this.shell.setMain(null);
  }

  /**
   * openRoom shows a room. opts: push (put it in the address bar), replace
   * (without a history entry), highlight (a post id), thread (a root id).
   */
  async openRoom(id, { push = true, replace = false, highlight = null, thread = null } = {}) {
    const token = ++this.openToken;
    const s = this.state;
    let c = s.channel(id);
    let member = Boolean(c);
    if (!c) {
      try {
        c = await api.channel(id);
        member = c.member !== false;
      } catch (err) {
        if (token !== this.openToken) return;
        this.shell.showNotice(err.status === 404 ? 'That room does not exist, or you cannot see it.' : `Could not open the room: ${err.message}`);
        await this.openDefault({ replace: true, push });
        return;
      }
      if (token !== this.openToken) return;
    }
    const team = s.teamOf(c);
    if (team && team !== s.teamId && s.team(team)) {
      localStorage.setItem(TEAM_KEY, team);
      s.setTeam(team);
    }
    if (push) this.router.show(id, { replace });
    if (team && member) localStorage.setItem(LAST_ROOM_KEY + team, id);
    this.shell.closeDrawer();
    this.calls.roomOpened(id);

    if (this.roomView?.channelId === id) {
      if (member) this.markRead(id);
      if (highlight) this.roomView.highlight(highlight);
      if (thread) this.openThread(thread);
      return;
    }

    if (this.panel && this.panel.kind !== 'search' && this.panel.channelId !== id) this.closePanel();
    this.closeAdmin();
    this.roomView?.destroy();
    const view = roomView({ chat: this, channel: c, member });
    this.roomView = view;
    this.channel = c;
    s.setCurrent(id);
    this.shell.setMain(view);
    if (member) this.markRead(id);
    const late = new Map();
    this.lateEdits = late;
    try {
      await view.load();
    } catch (err) {
      if (this.roomView === view) this.shell.showError(`Could not load messages: ${err.message}`);
      return;
    }
    if (this.roomView !== view) return;
    // Edits that came while the page was loading (a call card changing as
    // people join) may be newer than what the page holds.
    if (this.lateEdits === late) this.lateEdits = null;
    for (const post of late.values()) if (view.list.has(post.id)) view.list.patch(post.id, (p) => ({ ...p, ...post }));
    if (highlight) view.highlight(highlight);
    if (thread) this.openThread(thread);
    else if (!this.shell.narrow() && !this.panel) view.focus();
  }

  /**
   * openCallLink handles /call/<room id>: it lands in the room and joins its
   * call; someone who may not see the room gets a clear "no access" page.
   */
  async openCallLink(id) {
    this.callLink = id;
    let c = this.state.channel(id);
    if (!c) {
      try {
        c = await api.channel(id);
      } catch (err) {
        if (err.status === 404 || err.status === 403) this.showNoAccess();
        else this.shell.showError(`Could not open the call: ${err.message}`);
        return;
      }
    }
    await this.openRoom(id, { replace: true });
    if (this.roomView?.channelId === id) this.calls.start(id);
  }

  /** showNoAccess is the page of a call link the user may not use. */
  showNoAccess() {
    this.closeRoom();
    this.router.show(null, { replace: true });
    this.shell.setMain(noAccessView({
      onHome: () => {
        this.callLink = null;
        this.openDefault({ replace: true });
      },
    }));
  }

  // ---------- System console ----------

  /** openAdmin shows a page of the system console ('' for the first) in place of a room. */
  openAdmin(page, { push = true, replace = false } = {}) {
    if (!this.adminView) {
      this.closeRoom();
      this.adminView = adminConsole({
        me: () => this.state.me,
        state: this.state,
        socket: this.socket,
        siteName: this.siteName,
        navigate: (next) => this.openAdmin(next),
        leave: () => this.openDefault(),
        ensureUsers: (ids) => this.ensureUsers(ids),
        showError: (text) => this.shell.showError(text),
        showNotice: (text) => this.shell.showNotice(text),
      });
      this.shell.setMain(this.adminView);
    }
    this.adminView.show(page);
    if (push && this.adminView.page) this.router.showAdmin(this.adminView.page, { replace });
    this.shell.closeDrawer();
    this.updateTitle();
    this.adminView.focus();
  }

  closeAdmin() {
    if (!this.adminView) return;
    this.adminView.destroy();
    this.adminView = null;
  }

  /** join makes me a member of a public channel and opens it. */
  async join(id) {
    await api.joinChannel(id);
    await this.refetchChannels();
    if (this.roomView?.channelId === id) {
      this.roomView.update(this.state.channel(id) || {}, { member: true });
      this.markRead(id);
    } else {
      await this.openRoom(id);
    }
  }

  markRead(id) {
    clearTimeout(this.readTimers.get(id));
    this.readTimers.delete(id);
    this.state.setCounts(id, { unread: 0, mentions: 0 });
    api.markRead(id).catch(() => {});
  }

  markReadSoon(id) {
    clearTimeout(this.readTimers.get(id));
    this.readTimers.set(id, setTimeout(() => this.markRead(id), READ_DELAY_MS));
  }

  updateTitle() {
    const { mentions } = this.state.totals();
    if (this.adminView) {
      document.title = `${mentions ? `(${mentions}) ` : ''}System console · ${this.siteName}`;
      return;
    }
    const c = this.state.channel(this.state.currentId) || (this.channel?.id === this.state.currentId ? this.channel : null);
    const room = c ? this.state.roomName(c) : '';
    document.title = `${mentions ? `(${mentions}) ` : ''}${room ? `${room} · ` : ''}${this.siteName}`;
  }

  // ---------- Panels ----------

  setPanel(panel) {
    this.panel?.destroy();
    this.panel = panel;
    this.shell.setPanel(panel);
  }

  closePanel() {
    if (!this.panel) return;
    const was = this.panel;
    this.setPanel(null);
    if (was.kind === 'thread' && !this.shell.narrow()) this.roomView?.focus();
  }

  async openThread(rootId) {
    const c = this.channel;
    if (!c) return;
    if (this.panel?.kind === 'thread' && this.panel.rootId === rootId) {
      this.panel.focus();
      return;
    }
    const panel = threadPanel({ chat: this, rootId, channel: c, onClose: () => this.closePanel() });
    this.setPanel(panel);
    await panel.load();
    if (this.panel === panel) panel.focus();
  }

  async openMembers() {
    const c = this.channel;
    if (!c) return;
    if (this.panel?.kind === 'members' && this.panel.channelId === c.id) {
      this.closePanel();
      return;
    }
    const panel = membersPanel({ chat: this, channel: c, onClose: () => this.closePanel() });
    this.setPanel(panel);
    panel.focus();
    await panel.load();
  }

  /** openCalls toggles the room's call history in the right panel. */
  async openCalls() {
    const c = this.channel;
    if (!c) return;
    if (this.panel?.kind === 'calls' && this.panel.channelId === c.id) {
      this.closePanel();
      return;
    }
    const panel = callsPanel({ chat: this, channel: c, onClose: () => this.closePanel() });
    this.setPanel(panel);
    panel.focus();
    await panel.load();
  }

  async search(query) {
    const q = query.trim();
    if (!q) return;
    const panel = searchPanel({ chat: this, query: q, onClose: () => this.closePanel() });
    this.setPanel(panel);
    panel.focus();
    await panel.load();
  }

  async addPeople(channel) {
    let exclude = new Set();
    try {
      exclude = new Set((await api.channelMembers(channel.id)).map((u) => u.id));
    } catch {
      // The server refuses duplicates anyway.
    }
    addPeopleDialog({
      state: this.state,
      channel,
      exclude,
      onAdded: () => {
        if (this.panel?.kind === 'members' && this.panel.channelId === channel.id) this.panel.load();
      },
    });
  }

  showError(text) {
    this.shell.showError(text);
  }

  // ---------- Managing rooms and teams ----------

  /** setArchived archives or unarchives a room; the server's channel_updated tells everyone else. */
  async setArchived(c, archived) {
    try {
      this.channelUpdated(await (archived ? api.archiveChannel(c.id) : api.unarchiveChannel(c.id)));
    } catch (err) {
      this.shell.showError(`Could not ${archived ? 'archive' : 'unarchive'} ${this.state.roomName(c)}: ${err.message}`);
    }
  }

  async leaveRoom(c) {
    this.leaving = c.id;
    try {
      await api.leaveChannel(c.id);
      this.channelGone(c.id, 'left');
    } catch (err) {
      this.leaving = null;
      this.shell.showError(`Could not leave ${this.state.roomName(c)}: ${err.message}`);
    }
  }

  async deleteRoom(c) {
    const name = this.state.roomName(c);
    const ok = await confirmDialog({
      title: 'Delete room',
      text: `Delete ${name} and all its messages${c.type === 'discussion' ? '' : ' and discussions'} for everyone? This cannot be undone.`,
      confirmLabel: 'Delete room',
      danger: true,
    });
    if (!ok) return;
    try {
      await api.deleteChannel(c.id);
      this.channelGone(c.id, 'deleted');
    } catch (err) {
      this.shell.showError(`Could not delete ${name}: ${err.message}`);
    }
  }

  /** removeMember takes someone else out of a room (the members panel's Remove). */
  async removeMember(c, user) {
    try {
      await api.removeChannelMember(c.id, user.id);
    } catch (err) {
      this.shell.showError(`Could not remove ${this.state.userName(user.id)}: ${err.message}`);
      return false;
    }
    // The member_removed event updates the count; the panel reloads now.
    if (this.panel?.kind === 'members' && this.panel.channelId === c.id) this.panel.load();
    return true;
  }

  /** startDiscussion opens the dialog for a discussion from a message of the open room. */
  startDiscussion(post) {
    const parent = this.channel;
    if (parent) discussionDialog({ chat: this, parent, post });
  }

  async openTeamMembers() {
    const team = this.state.team();
    if (!team) return;
    let members;
    try {
      members = await api.teamMembers(team.id);
    } catch (err) {
      this.shell.showError(`Could not load the team's people: ${err.message}`);
      return;
    }
    this.state.addUsers(members);
    teamMembersDialog({ chat: this, team, members });
  }

  // ---------- Posting ----------

  async sendPost(channelId, { message, file_ids: fileIds = [], root_id: rootId = '' }) {
    const body = { message };
    if (rootId) body.root_id = rootId;
    if (fileIds.length) body.file_ids = fileIds;
    const post = await api.createPost(channelId, body);
    this.postCreated(post);
    return post;
  }

  async runCommand(channelId, text, { onEphemeral }) {
    if (/^\/leave\b/i.test(text)) this.leaving = channelId;
    let res;
    try {
      res = await api.command(channelId, text);
    } catch (err) {
      // "Calls are off here" answers the command; it is not a failed send.
      if (err.code !== 'calls_disabled') throw err;
      onEphemeral(sentence(err.message));
      return;
    }
    if (res?.post) this.postCreated(res.post);
    // A server that still answers "join" where calls are turned off: say so
    // here rather than start a call it will refuse.
    const room = this.state.channel(channelId) || (this.channel?.id === channelId ? this.channel : null);
    if (res?.action === 'call_join' && room && !this.state.callsAllowed(room)) {
      onEphemeral(this.callsOffText(room));
      return;
    }
    if (res?.text && res.ephemeral !== false) onEphemeral(res.text);
    // /call start|join|leave: the server asks the client to act, since media
    // goes with this browser's websocket.
    if (res?.action === 'call_join') this.calls.start(channelId, { title: res.title || '' });
    else if (res?.action === 'call_leave') this.calls.leave();
  }

  /** callsOffText says why a room takes no calls. */
  callsOffText(c) {
    if (this.state.settings.calls_enabled === false) return 'Calls are turned off in this workspace; ask an admin.';
    return `Calls are turned off for ${CALL_KIND_NAMES[c?.type] || 'this kind of room'} in this workspace; ask an admin.`;
  }

  async react(post, emoji) {
    try {
      const res = await api.toggleReaction(post.id, emoji);
      if (Array.isArray(res?.reactions)) this.patchPost(post.id, (p) => ({ ...p, reactions: res.reactions }));
    } catch (err) {
      this.shell.showError(`Could not react: ${err.message}`);
    }
  }

  pickReaction(post, anchor) {
    openEmojiPicker(anchor, (emoji) => this.react(post, emoji));
  }

  async saveEdit(post, message) {
    const next = await api.editPost(post.id, message);
    this.postEdited(next);
  }

  async confirmDelete(post) {
    const ok = await confirmDialog({
      title: 'Delete message',
      text: post.root_id || !post.reply_count
        ? 'Delete this message? This cannot be undone.'
        : 'Delete this message and its replies? This cannot be undone.',
      confirmLabel: 'Delete',
      danger: true,
    });
    if (!ok) return;
    try {
      await api.deletePost(post.id);
      this.postDeleted({ post_id: post.id, channel_id: post.channel_id, root_id: post.root_id });
    } catch (err) {
      this.shell.showError(`Could not delete: ${err.message}`);
    }
  }

  /** patchPost changes a post wherever it is shown. */
  patchPost(id, fn) {
    this.roomView?.list.patch(id, fn);
    if (this.panel?.kind === 'thread') this.panel.list.patch(id, fn);
  }

  // ---------- Events ----------

  postCreated(post, { waited = false } = {}) {
    if (!post || !post.id) return;
    const s = this.state;
    if (!waited && s.missingUsers([post.user_id]).length) {
      // Show the author's name, not "Someone": fetch them first.
      this.ensureUsers([post.user_id]).then(() => this.postCreated(post, { waited: true }));
      return;
    }
    const first = !this.seen.has(post.id);
    this.seen.add(post.id);
    const mine = post.user_id === s.me.id;
    this.typing.stopped(post.channel_id, post.root_id, post.user_id);
    s.touch(post.channel_id, post.created_at);
    const c = s.channel(post.channel_id);
    if (!c) this.refetchSoon();

    const view = this.roomView?.channelId === post.channel_id ? this.roomView : null;
    if (view) {
      if (!post.root_id) view.list.upsert(post, { scroll: mine });
      else if (first) view.list.patch(post.root_id, (p) => ({ ...p, reply_count: (p.reply_count || 0) + 1 }));
    }
    if (this.panel?.kind === 'thread' && post.root_id === this.panel.rootId) this.panel.list.upsert(post, { scroll: mine });

    if (!first || mine) return;
    const open = view && !document.hidden;
    const direct = isDirect(c);
    const mentioned = direct || (post.mentions || []).includes(s.me.id);
    if (open) {
      this.markReadSoon(post.channel_id);
    } else if (c) {
      s.setCounts(c.id, {
        unread: (c.unread_count || 0) + 1,
        mentions: (c.mention_count || 0) + (mentioned ? 1 : 0),
      });
    } else {
      return;
    }
    if (mentioned) {
      const author = s.userName(post.user_id);
      notifications.notify({
        title: direct && c?.type === 'dm' ? author : `${author} in ${s.roomName(c)}`,
        body: post.message || 'sent a file',
        tag: post.channel_id,
        onClick: () => this.openRoom(post.channel_id, { highlight: post.root_id ? null : post.id }),
      });
    }
  }

  postEdited(post) {
    if (!post || !post.id) return;
    if (this.lateEdits && this.roomView?.channelId === post.channel_id) this.lateEdits.set(post.id, post);
    if (this.roomView?.channelId === post.channel_id && this.roomView.list.has(post.id)) {
      this.roomView.list.patch(post.id, (p) => ({ ...p, ...post }));
    }
    if (this.panel?.kind === 'thread' && this.panel.list.has(post.id)) {
      this.panel.list.patch(post.id, (p) => ({ ...p, ...post }));
    }
  }

  postDeleted({ post_id: id, channel_id: channelId, root_id: rootId }) {
    if (!id) return;
    const wasSeen = this.seen.delete(id);
    const view = this.roomView?.channelId === channelId ? this.roomView : null;
    if (view) {
      view.list.remove(id);
      if (rootId && wasSeen) view.list.patch(rootId, (p) => ({ ...p, reply_count: Math.max(0, (p.reply_count || 0) - 1) }));
    }
    if (this.panel?.kind === 'thread') {
      if (this.panel.rootId === id) {
        this.closePanel();
        this.shell.showNotice('The thread you had open was deleted.');
      } else {
        this.panel.list.remove(id);
      }
    }
  }

  reaction({ post_id: id, user_id: userId, emoji }, added) {
    if (!id || !userId || !emoji) return;
    this.patchPost(id, (p) => ({ ...p, reactions: applyReaction(p.reactions || [], emoji, userId, added) }));
  }

  channelCreated(c) {
    if (!c?.id) return;
    this.state.upsertChannel(c);
    this.ensureUsers(c.member_ids || []);
    this.refetchSoon();
  }

  channelUpdated(c) {
    if (!c?.id) return;
    if (this.state.channel(c.id)) this.state.upsertChannel(c);
    if (this.channel?.id === c.id) {
      const wasArchived = Boolean(this.channel.archived_at);
      this.channel = { ...c, member_ids: c.member_ids || this.channel.member_ids };
      this.roomView?.update(c);
      this.updateTitle();
      // An open thread gets its composer back, or loses it.
      if (this.panel?.kind === 'thread' && this.panel.channelId === c.id && wasArchived !== Boolean(c.archived_at)) {
        const { rootId } = this.panel;
        this.setPanel(null);
        this.openThread(rootId);
      }
    }
  }

  channelGone(id, why) {
    if (!id) return;
    const c = this.state.channel(id) || (this.channel?.id === id ? this.channel : null);
    const name = c ? this.state.roomName(c) : 'a room';
    this.state.removeChannel(id);
    if (this.panel?.channelId === id) this.closePanel();
    if (this.state.currentId === id || this.channel?.id === id) {
      const left = this.leaving === id;
      this.leaving = null;
      this.shell.showNotice(why === 'deleted' ? `${name} was deleted.` : left || why === 'left' ? `You left ${name}.` : `You were removed from ${name}.`);
      this.roomView?.destroy();
      this.roomView = null;
      this.channel = null;
      this.openDefault({ replace: true });
    }
  }

  memberAdded({ channel_id: id, user_id: userId }) {
    if (!id || !userId) return;
    if (userId === this.state.me.id) {
      this.refetchSoon();
      if (this.roomView?.channelId === id) this.roomView.update({}, { member: true });
      return;
    }
    this.ensureUsers([userId]);
    if (this.roomView?.channelId === id) this.roomView.changeMemberCount(1);
    if (this.panel?.kind === 'members' && this.panel.channelId === id) this.panel.load();
  }

  memberRemoved({ channel_id: id, user_id: userId }) {
    if (!id || !userId) return;
    if (userId === this.state.me.id) {
      this.channelGone(id, 'removed');
      return;
    }
    if (this.roomView?.channelId === id) this.roomView.changeMemberCount(-1);
    if (this.panel?.kind === 'members' && this.panel.channelId === id) this.panel.load();
  }

  /** settingsChanged applies the workspace settings an admin just changed (call buttons follow the state). */
  settingsChanged(settings) {
    this.state.setSettings(settings);
    if (typeof settings?.site_name === 'string' && settings.site_name.trim()) {
      this.siteName = settings.site_name.trim();
      this.updateTitle();
    }
  }

  /** userUpdated takes an admin's change to someone's role or name; my own role decides the console. */
  userUpdated(u) {
    if (!u?.id) return;
    if (u.id === this.state.me.id) {
      this.state.setMe(u);
      if (this.adminView) this.adminView.recheck();
    } else {
      this.state.addUsers([u]);
    }
  }

  teamMembership({ user_id: userId }) {
    if (userId === this.state.me.id) this.reloadLists();
  }

  presence({ user_id: userId, status }) {
    if (!userId || !status) return;
    this.state.setPresence(userId, status);
    setPresence(document.body, userId, status);
  }

  // ---------- Idle ----------

  active() {
    this.lastActive = Date.now();
    if (this.away) {
      this.away = false;
      this.socket.send('presence', { status: 'online' });
    }
  }

  checkIdle() {
    if (!this.away && Date.now() - this.lastActive > IDLE_MS) {
      this.away = true;
      this.socket.send('presence', { status: 'away' });
    }
  }

  destroy() {
    this.openToken += 1;
    this.closeAdmin();
    this.calls.destroy();
    for (const off of this.offs) off();
    this.roomView?.destroy();
    this.panel?.destroy();
    this.typing.destroy();
    this.router.destroy();
    clearTimeout(this.refetchTimer);
    clearInterval(this.idleTimer);
    for (const t of this.readTimers.values()) clearTimeout(t);
    document.removeEventListener('visibilitychange', this.onVisible);
    for (const evt of ['pointerdown', 'keydown']) window.removeEventListener(evt, this.onActivity);
  }
}

/** applyReaction adds or removes one user's emoji in a reactions list (idempotent). */
export function applyReaction(list, emoji, userId, added) {
  const out = list.map((r) => ({ ...r, user_ids: [...(r.user_ids || [])] }));
  let r = out.find((x) => x.emoji === emoji);
  if (added) {
    if (!r) {
      r = { emoji, user_ids: [] };
      out.push(r);
    }
    if (!r.user_ids.includes(userId)) r.user_ids.push(userId);
  } else if (r) {
    r.user_ids = r.user_ids.filter((id) => id !== userId);
  }
  return out.filter((x) => x.user_ids.length > 0);
}
