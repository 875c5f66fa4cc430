// socket.js keeps one websocket to /api/v1/ws open for the signed-in user.
// Frames are JSON {"type","seq","data"}. The client remembers the highest seq
// it has seen and, after a drop, reconnects with ?since=<seq> so the server
// can replay what was missed; when it cannot, it sends {"type":"resync"} and
// the app refetches its state through the onResync hook.

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 15000;
// A connection that stayed up this long resets the backoff.
const STABLE_MS = 10000;

/** wsURL returns the websocket address on this origin (wss: under https:). */
export function wsURL(since) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = since > 0 ? `?since=${encodeURIComponent(since)}` : '';
  return `${scheme}//${location.host}/api/v1/ws${query}`;
}

/**
 * Socket dispatches server events to subscribers by type.
 *
 *   const socket = new Socket({ onResync: refetch, onStatus: showStatus });
 *   const off = socket.on('post_created', (data, frame) => ...);
 *   socket.connect();
 *
 * onStatus(state, info) gets 'connecting' | 'open' | 'reconnecting' | 'closed',
 * with info {attempt, delay, opened} on 'reconnecting'.
 */
export class Socket {
  constructor({ onResync = () => {}, onStatus = () => {}, url = wsURL } = {}) {
    this.onResync = onResync;
    this.onStatus = onStatus;
    this.url = url;
    this.lastSeq = 0;
    this.handlers = new Map();
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.stopped = true;
    this.openedAt = 0;
    this.shutdownNotice = false;
    this.state = 'closed';
    this.wakeUp = () => this.reconnectNow();
  }

  /** on subscribes fn(data, frame) to frames of one type ('*' for all); returns an unsubscribe function. */
  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    return () => this.handlers.get(type)?.delete(fn);
  }

  /** connect opens the socket and keeps it open until close(). */
  connect() {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener('online', this.wakeUp);
    this.open();
  }

  /** close stops the socket for good (log out). */
  close() {
    this.stopped = true;
    window.removeEventListener('online', this.wakeUp);
    clearTimeout(this.timer);
    this.timer = null;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      ws.close(1000, 'bye');
    }
    this.setState('closed');
  }

  /** send writes one frame {type, data}; false when the socket is not open. */
  send(type, data = {}) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify({ type, data }));
    return true;
  }

  /** reconnectNow skips the rest of the backoff wait (the network came back). */
  reconnectNow() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.open();
  }

  open() {
    this.setState('connecting');
    let ws;
    try {
      ws = new WebSocket(this.url(this.lastSeq));
    } catch {
      this.scheduleReconnect(false);
      return;
    }
    this.ws = ws;
    this.openedAt = 0;
    ws.onopen = () => {
      this.openedAt = Date.now();
      this.setState('open');
    };
    ws.onmessage = (event) => this.receive(event.data);
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      // 1001 going away / 1012 service restart: the server is restarting.
      if (event.code === 1001 || event.code === 1012) this.shutdownNotice = true;
      const opened = this.openedAt > 0;
      if (opened && Date.now() - this.openedAt >= STABLE_MS) this.attempt = 0;
      this.scheduleReconnect(opened);
    };
    // onerror is always followed by onclose, which does the work.
    ws.onerror = () => {};
  }

  scheduleReconnect(opened) {
    if (this.stopped) return;
    this.attempt += 1;
    // Exponential backoff with full jitter, so a restarted server is not hit
    // by every client in the same instant.
    const ceiling = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** (this.attempt - 1));
    const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    this.setState('reconnecting', { attempt: this.attempt, delay, opened, shutdown: this.shutdownNotice });
    this.shutdownNotice = false;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopped) this.open();
    }, delay);
  }

  receive(raw) {
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch {
      return;
    }
    if (!frame || typeof frame.type !== 'string') return;

    if (Number.isSafeInteger(frame.seq)) {
      if (frame.type === 'resync') {
        // Whatever the server numbers from now on is what we resume from.
        this.lastSeq = frame.seq;
      } else if (frame.seq < this.lastSeq) {
        // Frames after ?since=N are numbered above N, so a lower number means
        // the server's sequence started over (a restart or a restore): what
        // we hold may be stale, so refetch and follow its numbering.
        this.lastSeq = frame.seq;
        if (frame.type === 'hello') this.attempt = 0;
        this.emit(frame);
        this.resync();
        return;
      } else if (frame.seq > this.lastSeq) {
        this.lastSeq = frame.seq;
      }
    }

    switch (frame.type) {
      case 'hello':
        this.attempt = 0;
        break;
      case 'resync':
        this.emit(frame);
        this.resync();
        return;
      case 'server_shutdown':
        this.shutdownNotice = true;
        break;
      default:
        break;
    }
    this.emit(frame);
  }

  resync() {
    try {
      this.onResync();
    } catch (err) {
      console.error('socket: resync hook failed', err);
    }
  }

  emit(frame) {
    for (const key of [frame.type, '*']) {
      const set = this.handlers.get(key);
      if (!set) continue;
      for (const fn of [...set]) {
        try {
          fn(frame.data ?? {}, frame);
        } catch (err) {
          console.error(`socket: ${frame.type} handler failed`, err);
        }
      }
    }
  }

  setState(state, info = {}) {
    this.state = state;
    try {
      this.onStatus(state, info);
    } catch (err) {
      console.error('socket: status hook failed', err);
    }
  }
}
