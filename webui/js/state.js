// state.js holds what the signed-in app knows: people, teams, the rooms in
// the sidebar with their unread counts, and which team and room are open.
// Views subscribe to named changes ('users', 'teams', 'channels', 'current',
// 'presence', 'settings') and redraw from here; nothing else keeps a copy.
import { displayName } from './avatar.js';
import { Emitter } from './emitter.js';

const DIRECT = new Set(['dm', 'group']);

// The setting that turns calls on or off in each kind of room (the server's name
// first, then the name the admin API contract first gave it).
const CALL_KEYS = {
  public: ['calls_in_channels', 'calls_channels'],
  private: ['calls_in_private', 'calls_private'],
  dm: ['calls_in_dms', 'calls_dms'],
  group: ['calls_in_groups', 'calls_group_dms'],
  discussion: ['calls_in_discussions', 'calls_discussions'],
};

/** CALL_KIND_NAMES say what a kind of room is called, for "calls are off in …" messages. */
export const CALL_KIND_NAMES = {
  public: 'public channels', private: 'private channels', dm: 'direct messages', group: 'group messages', discussion: 'discussions',
};

/** isDirect says whether a room is a DM or group DM. */
export const isDirect = (c) => DIRECT.has(c?.type);

export class ChatState extends Emitter {
  constructor(me) {
    super('state');
    this.me = me;
    this.users = new Map([[me.id, me]]);
    this.teams = [];
    this.teamId = null;
    this.channels = new Map();
    this.currentId = null;
    this.ringing = new Set(); // rooms with a call ringing for me
    this.settings = {}; // the workspace settings every client may read (GET /settings)
  }

  // ---------- People ----------

  setMe(me) {
    this.me = { ...this.me, ...me };
    this.users.set(me.id, { ...this.users.get(me.id), ...me });
    this.emit('users');
  }

  /** addUsers merges user objects (from any list the server sent). */
  addUsers(list) {
    let changed = false;
    for (const u of list || []) {
      if (!u || !u.id) continue;
      const old = this.users.get(u.id);
      this.users.set(u.id, old ? { ...old, ...u, status: u.status || old.status } : u);
      changed = true;
    }
    if (changed) this.emit('users');
  }

  /** user returns a known user, or a stand-in while the real one loads. */
  user(id) {
    return this.users.get(id) || { id, username: 'someone', display_name: 'Someone', unknown: true };
  }

  /** missingUsers returns the ids of users not loaded yet. */
  missingUsers(ids) {
    return [...new Set(ids)].filter((id) => id && !this.users.has(id));
  }

  userName(id) {
    return displayName(this.user(id));
  }

  setPresence(userId, status) {
    const u = this.users.get(userId);
    if (u) this.users.set(userId, { ...u, status });
    this.emit('presence', { userId, status });
  }

  presence(userId) {
    if (userId === this.me.id) return this.users.get(userId)?.status || 'online';
    return this.users.get(userId)?.status || 'offline';
  }

  // ---------- Workspace settings ----------

  /** setSettings takes the public settings (GET /settings or a settings_changed event). */
  setSettings(settings) {
    if (!settings || typeof settings !== 'object') return;
    this.settings = { ...this.settings, ...settings };
    this.emit('settings');
  }

  /** callsAllowed says whether calls are on for a room's kind (a setting the server has not sent counts as on). */
  callsAllowed(c) {
    const s = this.settings;
    if (s.calls_enabled === false) return false;
    const keys = CALL_KEYS[c?.type] || [];
    return !keys.some((k) => s[k] === false);
  }

  /**
   * callDefaults says whether the microphone and camera start on when joining
   * a call (default_mic_on, default_camera_on; the camera only where cameras
   * are allowed). A setting the server has not sent keeps the old defaults:
   * microphone on, camera off.
   */
  callDefaults() {
    const s = this.settings;
    return {
      mic: s.default_mic_on !== false,
      camera: s.default_camera_on === true && s.video_allowed !== false,
    };
  }

  // ---------- Teams ----------

  setTeams(teams) {
    this.teams = [...teams].sort((a, b) => teamLabel(a).localeCompare(teamLabel(b)));
    if (!this.teams.some((t) => t.id === this.teamId)) this.teamId = this.teams[0]?.id || null;
    this.emit('teams');
  }

  setTeam(teamId) {
    if (this.teamId === teamId) return;
    this.teamId = teamId;
    this.emit('teams');
    this.emit('channels');
  }

  team(id = this.teamId) {
    return this.teams.find((t) => t.id === id) || null;
  }

  // ---------- Rooms ----------

  /** setChannels replaces the sidebar list (GET /channels). */
  setChannels(list) {
    this.channels = new Map(list.map((c) => [c.id, { unread_count: 0, mention_count: 0, ...c }]));
    this.emit('channels');
  }

  /**
   * upsertChannel adds a room or replaces it with a newer copy (a field
   * missing from the copy, such as archived_at after unarchiving, is gone),
   * keeping the unread counts and members the copy does not carry.
   */
  upsertChannel(c) {
    const old = this.channels.get(c.id);
    this.channels.set(c.id, old
      ? { ...c, unread_count: old.unread_count, mention_count: old.mention_count, member_ids: c.member_ids || old.member_ids }
      : { unread_count: 0, mention_count: 0, ...c });
    this.emit('channels');
  }

  removeChannel(id) {
    if (!this.channels.delete(id)) return;
    // Discussions go with their parent.
    for (const c of [...this.channels.values()]) if (c.parent_id === id) this.channels.delete(c.id);
    this.emit('channels');
  }

  channel(id) {
    return this.channels.get(id) || null;
  }

  /** setCounts changes a room's unread and mention counts. */
  setCounts(id, { unread, mentions }) {
    const c = this.channels.get(id);
    if (!c) return;
    const next = { ...c };
    if (unread !== undefined) next.unread_count = unread;
    if (mentions !== undefined) next.mention_count = mentions;
    if (next.unread_count === c.unread_count && next.mention_count === c.mention_count) return;
    this.channels.set(id, next);
    this.emit('channels');
  }

  touch(id, when) {
    const c = this.channels.get(id);
    if (c) this.channels.set(id, { ...c, last_post_at: when });
  }

  /** setRinging marks a DM whose call is ringing for me (the sidebar highlights it). */
  setRinging(id, on) {
    if (on === this.ringing.has(id)) return;
    if (on) this.ringing.add(id);
    else this.ringing.delete(id);
    this.emit('channels');
  }

  setCurrent(id) {
    this.currentId = id;
    this.emit('current');
  }

  /** roomName is what the sidebar and header call a room. */
  roomName(c) {
    if (!c) return '';
    if (isDirect(c)) {
      const others = (c.member_ids || []).filter((id) => id !== this.me.id);
      if (others.length === 0) return c.member_ids?.length ? `${this.userName(this.me.id)} (you)` : (c.display_name || 'Direct message');
      return others.map((id) => this.userName(id)).sort((a, b) => a.localeCompare(b)).join(', ');
    }
    return c.display_name || c.name || 'Untitled';
  }

  /** otherMember is the other person of a DM. */
  otherMember(c) {
    return (c?.member_ids || []).find((id) => id !== this.me.id) || null;
  }

  /** teamRooms returns the current team's channels (public, private) and top-level discussions, by name. */
  teamRooms(teamId = this.teamId) {
    return [...this.channels.values()]
      .filter((c) => (c.type === 'public' || c.type === 'private') && c.team_id === teamId)
      .sort(byName(this));
  }

  /** directRooms returns DMs and group DMs, most recent first. */
  directRooms() {
    return [...this.channels.values()]
      .filter(isDirect)
      .sort((a, b) => stamp(b) - stamp(a) || this.roomName(a).localeCompare(this.roomName(b)));
  }

  /** discussions returns the discussions under a room. */
  discussions(parentId) {
    return [...this.channels.values()].filter((c) => c.type === 'discussion' && c.parent_id === parentId).sort(byName(this));
  }

  /** orphanDiscussions are discussions whose parent is not in the list (shown under Channels). */
  orphanDiscussions(teamId = this.teamId) {
    return [...this.channels.values()]
      .filter((c) => c.type === 'discussion' && !this.channels.has(c.parent_id) && (!c.team_id || c.team_id === teamId))
      .sort(byName(this));
  }

  /** teamOf returns the team a room belongs to (a discussion: its parent's), or null for DMs. */
  teamOf(c) {
    if (!c) return null;
    if (c.team_id) return c.team_id;
    if (c.parent_id) return this.teamOf(this.channels.get(c.parent_id));
    return null;
  }

  /**
   * canManage mirrors the server's rule for renaming, archiving, deleting a
   * room and removing others: an admin, an admin of the room's team, or its
   * creator while a member. Nobody manages a DM. The server has the last word.
   */
  canManage(c, member = this.channels.has(c?.id)) {
    if (!c || isDirect(c)) return false;
    if (this.me.role === 'admin') return true;
    const team = this.team(c.team_id || this.teamOf(c));
    return team?.role === 'admin' || (c.creator_id === this.me.id && member);
  }

  /** canManageTeam: an admin or an admin of that team adds and removes its people. */
  canManageTeam(teamId = this.teamId) {
    return this.me.role === 'admin' || this.team(teamId)?.role === 'admin';
  }

  /** totals sums unread rooms and mentions, for the tab title and the team rail. */
  totals(teamId) {
    let mentions = 0;
    let unread = 0;
    for (const c of this.channels.values()) {
      if (teamId !== undefined && this.teamOf(c) !== teamId) continue;
      mentions += c.mention_count || 0;
      if (c.unread_count) unread += 1;
    }
    return { mentions, unread };
  }
}

export function teamLabel(t) {
  return t.display_name || t.name || 'Team';
}

function stamp(c) {
  return Date.parse(c.last_post_at || c.created_at || 0) || 0;
}

function byName(state) {
  return (a, b) => state.roomName(a).localeCompare(state.roomName(b));
}
