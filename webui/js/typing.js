// typing.js keeps who is typing where ("alice is typing…"), from the
// socket's typing events, each forgotten after a few seconds, and throttles
// our own typing frames to one per room every 2 s (the server's rate).
import * as fmt from './format.js';

const EXPIRE_MS = 5000;
const SEND_EVERY_MS = 2000;

export class Typing {
  constructor({ state, socket }) {
    this.state = state;
    this.socket = socket;
    this.who = new Map(); // "channel/root" → Map(userId → timer)
    this.sent = new Map(); // "channel/root" → last send time
    this.listeners = new Set();
  }

  /** on subscribes fn() to changes; returns the unsubscribe function. */
  on(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  changed() {
    for (const fn of [...this.listeners]) fn();
  }

  /** heard handles a typing event {channel_id, root_id, user_id}. */
  heard({ channel_id: channelId, root_id: rootId = '', user_id: userId }) {
    if (!channelId || !userId || userId === this.state.me.id) return;
    const key = `${channelId}/${rootId || ''}`;
    if (!this.who.has(key)) this.who.set(key, new Map());
    const users = this.who.get(key);
    clearTimeout(users.get(userId));
    users.set(userId, setTimeout(() => this.stopped(channelId, rootId, userId), EXPIRE_MS));
    this.changed();
  }

  /** stopped forgets a typist (their post arrived, or the time ran out). */
  stopped(channelId, rootId, userId) {
    const users = this.who.get(`${channelId}/${rootId || ''}`);
    if (!users || !users.has(userId)) return;
    clearTimeout(users.get(userId));
    users.delete(userId);
    this.changed();
  }

  /** text is the indicator line for a room or thread, or ''. */
  text(channelId, rootId = '') {
    const users = this.who.get(`${channelId}/${rootId || ''}`);
    if (!users || users.size === 0) return '';
    const list = [...users.keys()].map((id) => this.state.userName(id));
    if (list.length > 3) return 'Several people are typing…';
    return `${fmt.names(list)} ${list.length === 1 ? 'is' : 'are'} typing…`;
  }

  /** typed tells the room we are typing, at most once every 2 s. */
  typed(channelId, rootId = '') {
    const key = `${channelId}/${rootId || ''}`;
    const now = Date.now();
    if (now - (this.sent.get(key) || 0) < SEND_EVERY_MS) return;
    this.sent.set(key, now);
    const data = { channel_id: channelId };
    if (rootId) data.root_id = rootId;
    this.socket.send('typing', data);
  }

  destroy() {
    for (const users of this.who.values()) for (const t of users.values()) clearTimeout(t);
    this.who.clear();
    this.listeners.clear();
  }
}
