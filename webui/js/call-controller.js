// call-controller.js runs calls in the web app: which rooms have a call
// going, the call this browser is in (participants, hands, screen share,
// who speaks, host), the ringing of DM calls, and every call_* event of the
// websocket. Views (call-view, call-widget, the room's call button and bar,
// the call card, the ring popup) read from here and call its methods; the
// media itself is call-client.js.
import * as api from './api.js';
import { el } from './dom.js';
import { CallClient, iceTransportPolicy } from './call-client.js';
import * as media from './call-media.js';
import { Ringer } from './ringer.js';
import { confirmDialog } from './dialog.js';
import { preflightDialog } from './preflight-dialog.js';
import { deviceSettingsDialog } from './device-settings.js';
import { incomingCalls } from './incoming-call.js';
import { callView } from './call-view.js';
import { callWidget } from './call-widget.js';
import { Emitter } from './emitter.js';

const JOIN_TIMEOUT_MS = 10_000;
const SCREEN_TIMEOUT_MS = 5_000;
const VOLUMES_KEY = 'calls.volumes';
const POPOUT_CHANNEL = 'calls-popout';

/** ENDED_TEXT says why a call was ended for everyone (call_ended_for_you's reason). */
const ENDED_TEXT = {
  host: 'The call was ended for everyone.',
  room_closed: 'The call ended because the room was archived or deleted.',
  no_answer: 'No answer: the call ended.',
};

/** JOIN_ERRORS are the sentences for call_join's error codes. */
export const JOIN_ERRORS = {
  no_access: 'You do not have access to this call: it belongs to a room you cannot see. Ask someone in the room to add you.',
  not_found: 'You do not have access to this call: it belongs to a room you cannot see. Ask someone in the room to add you.',
  not_member: 'Join this channel first: only its members can start a call here.',
  archived: 'This room is archived, so it takes no calls.',
  call_full: 'This call is full: it has reached the most participants this server allows. Try again when someone leaves.',
  call_ended: 'That call just ended. Start a new one if you need to.',
  rate_limited: 'You are joining calls too fast. Wait a few seconds, then try again.',
  unauthorized: 'Your session has ended. Log in again to join calls.',
  forbidden: 'You are not allowed to call in this room.',
  calls_disabled: 'Calls are turned off for this kind of room in this workspace. Ask an admin if you need them.',
};

/** CALL_REFUSALS are the sentences for refusals during a call that settings cause. */
const CALL_REFUSALS = {
  video_disabled: 'Cameras are turned off for calls in this workspace.',
  screen_share_disabled: 'Screen sharing is turned off in this workspace.',
  recording_admins_only: 'Only admins may record calls in this workspace.',
};

const MEDIA_FAILED = 'The call\'s audio and video could not connect. The server\'s UDP media port (its --rtc-port setting, 8443 by default) is probably blocked by a firewall: ask your admin to open it. The fallback over TCP through the web port did not get through either.';
const RELAY_FAILED = 'The call\'s audio and video could not connect through the server\'s TURN relay, and this browser is set to use nothing else (the calls.iceTransportPolicy test switch in its local storage). Remove that switch, or ask your admin whether TURN is on and its port (--turn-port, 3478 by default) is open.';
const TCP_NOTICE = 'Media is using the TCP fallback through the web port because the UDP port (--rtc-port) is not reachable: audio may lag. Ask your admin to open that UDP port for the best quality.';

export class Calls extends Emitter {
  /**
   * ui: {showError(text), showNotice(text), openRoom(id), openThread(channelId, postId),
   *      mountView(node|null), mountWidget(node|null), roomName(channelId),
   *      channel(channelId), popout: bool}
   */
  constructor({ socket, state, ui }) {
    super('calls');
    this.socket = socket;
    this.state = state;
    this.ui = ui;
    this.popoutMode = Boolean(ui.popout);
    this.rooms = new Map(); // channel id → running call {id, channel_id, host_id, post_id, started_at, participants}
    this.callRooms = new Map(); // call id → channel id
    this.outcomes = new Map(); // channel id → {state, calleeId} of my last DM call that nobody took
    this.session = null;
    this.expanded = false;
    this.popout = null; // {channelId, window, active} while the call runs in a pop-out window
    this.hellos = 0;
    this.lastEnded = null; // {at, notice} for the shutdown wording
    this.volumes = loadVolumes();
    this.ringback = new Ringer('outgoing');
    this.incoming = incomingCalls({ calls: this, state });
    this.audioHost = el('div', { class: 'call-audio', 'aria-hidden': 'true' });
    document.body.append(this.audioHost);

    this.offs = [];
    const on = (type, fn) => this.offs.push(socket.on(type, (data) => fn.call(this, data || {})));
    on('hello', this.onHello);
    on('call_joined', this.onJoined);
    on('call_signal', (d) => this.client?.handleSignal(d));
    on('call_started', (d) => this.trackRoom(d.call));
    on('call_participant_joined', this.onParticipantJoined);
    on('call_participant_left', this.onParticipantLeft);
    on('call_participant_state', this.onParticipantState);
    on('call_participant_muted', this.onParticipantMuted);
    on('call_speaking', this.onSpeaking);
    on('call_host_changed', this.onHostChanged);
    on('call_ended', this.onCallEnded);
    on('call_ended_for_you', (d) => {
      if (d.reason === 'server_shutdown') this.onShutdown();
      else this.endedBy(d.call_id, ENDED_TEXT[d.reason] || ENDED_TEXT.host);
    });
    on('call_removed', (d) => this.endedBy(d.call_id, 'The host removed you from the call.', { error: true }));
    on('call_hand', this.onHand);
    on('call_reaction', (d) => this.onReaction(d.call_id, d.reaction));
    on('call_screen', this.onScreen);
    on('call_host_request', this.onHostRequest);
    on('call_recording', this.onRecording);
    on('call_recording_alert', (d) => {
      if (!this.mine(d.call_id) || !d.text) return;
      if (d.kind === 'problem') this.ui.showError(`Recording: ${d.text}`);
      else this.ui.showNotice(`Recording: ${d.text}`);
    });
    on('call_ringing', (d) => this.incoming.ring(d));
    on('call_ring_state', this.onRingState);
    on('server_shutdown', this.onShutdown);
    on('error', this.onError);

    this.onKey = (event) => {
      if ((event.ctrlKey || event.metaKey) && event.shiftKey && (event.code === 'Space' || event.key === ' ')) {
        if (!this.session?.callId) return;
        event.preventDefault();
        this.toggleMute();
      }
    };
    document.addEventListener('keydown', this.onKey);

    if ('BroadcastChannel' in window) {
      this.bus = new BroadcastChannel(POPOUT_CHANNEL);
      this.bus.onmessage = (event) => this.onBus(event.data || {});
    }
    this.onUnload = () => {
      if (this.popoutMode && this.session) this.post({ type: 'closed', channelId: this.session.channelId });
    };
    window.addEventListener('pagehide', this.onUnload);
  }

  // ---------- Subscriptions ----------
  // Events (see Emitter): 'change' (anything), 'rooms' (running calls), 'reaction'.

  changed() {
    this.emit('change');
  }

  // ---------- Rooms with a call ----------

  /** running returns the call running in a room (as far as this browser knows), or null. */
  running(channelId) {
    return this.rooms.get(channelId) || null;
  }

  /** inCall says whether this browser is in the room's call (here or in a pop-out). */
  inCall(channelId) {
    return (this.session?.channelId === channelId && !this.session.ended) || this.popout?.channelId === channelId;
  }

  /** watchRoom asks the server whether the room has a call going (opening a room). */
  async watchRoom(channelId) {
    try {
      const call = await api.get(`/channels/${encodeURIComponent(channelId)}/call`);
      this.trackRoom(call);
    } catch (err) {
      if (err.status === 404 && this.rooms.has(channelId)) {
        this.rooms.delete(channelId);
        this.emit('rooms', channelId);
      }
    }
  }

  trackRoom(call) {
    if (!call?.id || !call.channel_id) return;
    this.ui.ensureUsers?.((call.participants || []).map((p) => p.user_id));
    this.rooms.set(call.channel_id, { ...call, participants: [...(call.participants || [])] });
    this.callRooms.set(call.id, call.channel_id);
    this.emit('rooms', call.channel_id);
  }

  roomOf(callId, channelId) {
    return channelId || this.callRooms.get(callId) || (this.session?.callId === callId ? this.session.channelId : null);
  }

  /** mine says whether an event is about the call I am in. */
  mine(callId) {
    return Boolean(this.session && callId && this.session.callId === callId && !this.session.ended);
  }

  // ---------- Starting, joining, leaving ----------

  /**
   * start joins the room's call, starting one when none runs. opts:
   * {title, preflight (default true), mic, camera (without preflight)}.
   */
  async start(channelId, opts = {}) {
    if (this.session?.channelId === channelId && !this.session.ended) {
      this.expand();
      return;
    }
    if (this.popout?.channelId === channelId) {
      this.popout.window?.focus();
      return;
    }
    const c = this.ui.channel(channelId);
    if (c?.archived_at) {
      this.ui.showError(JOIN_ERRORS.archived);
      return;
    }
    if (this.session && !this.session.ended) {
      const ok = await confirmDialog({
        title: 'Switch calls?',
        text: `You are in a call in ${this.ui.roomName(this.session.channelId)}. Leave it and join this one?`,
        confirmLabel: 'Switch',
      });
      if (!ok) return;
      this.leave();
    }
    if (this.popout) this.post({ type: 'leave', channelId: this.popout.channelId });
    this.outcomes.delete(channelId);
    this.emit('rooms', channelId);

    let choice;
    if (opts.preflight === false) {
      choice = await this.quickDevices(opts);
    } else {
      const running = this.running(channelId);
      choice = await preflightDialog({
        state: this.state,
        roomName: this.ui.roomName(channelId),
        direct: c?.type === 'dm',
        running: Boolean(running),
        participants: running?.participants || [],
        title: opts.title || '',
        askTitle: !running && c?.type !== 'dm',
        onSettings: () => this.openSettings(),
      });
    }
    if (!choice) return;
    this.join(channelId, choice, opts);
  }

  /**
   * acceptRing answers a ringing DM call: open the DM and join with the
   * microphone and camera as the workspace's defaults say. The microphone
   * opens either way (muted when it starts off), so unmuting needs no prompt.
   */
  async acceptRing(ring) {
    this.ui.openRoom(ring.channel_id);
    const defaults = this.state.callDefaults();
    await this.start(ring.channel_id, { preflight: false, mic: true, muted: !defaults.mic, camera: defaults.camera });
  }

  /** quickDevices opens the microphone (and camera) without asking: accepting a ring, a pop-out. */
  async quickDevices({ mic = true, camera = false, muted = false, title = '' }) {
    const choice = { mic: null, camera: null, muted, title, notice: '' };
    if (mic) {
      try {
        choice.mic = await media.openMic();
      } catch (err) {
        choice.muted = true;
        choice.notice = `${err.message} You joined as a listener.`;
      }
    }
    if (camera) {
      try {
        choice.camera = await media.openCamera();
      } catch (err) {
        choice.notice = err.message;
      }
    }
    return choice;
  }

  join(channelId, choice, opts = {}) {
    const s = {
      channelId,
      callId: null,
      postId: null,
      title: choice.title || '',
      hostId: null,
      startedAt: null,
      myPid: null,
      phase: 'joining',
      participants: new Map(),
      hands: [],
      screenSharer: '',
      ring: null,
      muted: Boolean(choice.muted) || !choice.mic,
      mic: choice.mic || null,
      camera: choice.camera || null,
      screen: null,
      handRaised: false,
      remote: new Map(),
      transport: null,
      hello: this.hellos,
      devices: { mic: Boolean(choice.mic), camera: Boolean(choice.camera) },
      ended: false,
      meter: null,
      loud: 0,
      mutedHint: false,
    };
    this.session = s;
    // A DM call you place stays small while it rings, so the app stays usable.
    this.expanded = opts.collapsed ? false : !(this.isDM(channelId) && !this.running(channelId));
    if (choice.notice) this.ui.showNotice(choice.notice);
    this.ensureViews();
    this.changed();
    if (!this.socket.send('call_join', { channel_id: channelId, title: s.title || undefined })) {
      this.fail('You are offline: the call can start once the connection to the server is back.');
      return;
    }
    s.joinTimer = setTimeout(() => {
      if (this.session === s && s.phase === 'joining') this.fail('The server did not answer. Check your connection and try again.');
    }, JOIN_TIMEOUT_MS);
  }

  isDM(channelId) {
    return this.ui.channel(channelId)?.type === 'dm';
  }

  onJoined({ call, participant_id: pid, ice_servers: iceServers }) {
    const s = this.session;
    if (!s || s.phase !== 'joining' || !call || call.channel_id !== s.channelId) {
      // We gave up on this join meanwhile: do not stay in a call we do not show.
      if (!s || s.callId !== call?.id) this.socket.send('call_leave');
      return;
    }
    clearTimeout(s.joinTimer);
    this.trackRoom(call);
    s.callId = call.id;
    s.postId = call.post_id;
    s.title = call.title || s.title;
    s.hostId = call.host_id;
    s.startedAt = call.started_at;
    s.myPid = pid;
    s.hands = [...(call.hands || [])];
    s.screenSharer = call.screen_sharer || '';
    s.recording = call.recording?.on ? call.recording : null;
    for (const p of call.participants || []) this.addParticipant(p);
    s.phase = 'connecting';

    this.client = new CallClient({
      send: (type, data) => this.socket.send(type, data),
      onTrack: (t) => this.remoteTrack(s, t),
      onTrackEnded: (t) => this.remoteTrackEnded(s, t),
      onConnection: (state) => this.connection(s, state),
    });
    this.client.start({ iceServers: iceServers || [], mic: s.mic, camera: s.camera });
    if (s.mic) this.client.setMicEnabled(!s.muted);
    if (s.muted) this.socket.send('call_mute', { muted: true });
    this.startMeter(s);
    const now = Date.now();
    for (const r of call.recent_reactions || []) {
      const age = now - Date.parse(r.at);
      this.emit('reaction', { ...r, age: Number.isFinite(age) ? Math.max(0, age) : 0 });
    }
    if (this.popoutMode) this.post({ type: 'joined', channelId: s.channelId, callId: s.callId });
    this.changed();
  }

  addParticipant(p) {
    const s = this.session;
    if (!s || !p?.id) return;
    if (this.state.missingUsers([p.user_id]).length) this.ui.ensureUsers?.([p.user_id]);
    const old = s.participants.get(p.id);
    s.participants.set(p.id, {
      id: p.id,
      userId: p.user_id,
      muted: Boolean(p.muted),
      joinedAt: p.joined_at,
      stream: p.stream || '', // "whip": a publisher such as OBS; "whep": a viewer
      speaking: typeof p.speaking === 'boolean' ? p.speaking : old?.speaking || false,
      state: old?.state || 'connected',
    });
  }

  /** leave leaves the call (closing the pop-out's too). */
  leave({ notice = '' } = {}) {
    if (this.popout && !this.session) {
      this.post({ type: 'leave', channelId: this.popout.channelId });
      this.popout = null;
      this.changed();
      return;
    }
    const s = this.session;
    if (!s) return;
    if (!s.ended) this.socket.send('call_leave');
    this.finish(s, { notice });
  }

  /** finish tears down the session's media and views. */
  finish(s, { notice = '', error = '' } = {}) {
    if (!s || s.ended) return;
    s.ended = true;
    clearTimeout(s.joinTimer);
    clearTimeout(s.hintTimer);
    this.ringback.stop();
    s.meter?.stop();
    this.client?.close();
    this.client = null;
    for (const t of [s.mic, s.camera, ...(s.screen?.getTracks() || [])]) t?.stop();
    this.audioHost.replaceChildren();
    if (this.session === s) this.session = null;
    this.expanded = false;
    this.lastEnded = { at: Date.now(), channelId: s.channelId };
    this.changed();
    this.emit('rooms', s.channelId);
    if (this.popoutMode) {
      this.post({ type: 'closed', channelId: s.channelId });
      this.ui.ended?.(error || notice || 'You left the call.');
      return;
    }
    if (error) this.ui.showError(error);
    else if (notice) this.ui.showNotice(notice);
  }

  fail(message) {
    const s = this.session;
    if (!s) return;
    this.finish(s, { error: message });
  }

  endedBy(callId, notice, { error = false } = {}) {
    if (!this.mine(callId)) return;
    const s = this.session;
    // A DM call nobody took ends on its own: its outcome was already said.
    if (this.outcomes.has(s.channelId) && !s.ring) {
      this.finish(s);
      return;
    }
    this.finish(s, error ? { error: notice } : { notice });
  }

  // ---------- Events ----------

  onHello(data) {
    this.hellos += 1;
    if (!this.popoutMode && Array.isArray(data.rings)) this.syncRings(data.rings);
    const s = this.session;
    if (!s || s.ended) return;
    if (s.hello === 0 && s.phase === 'joining') {
      s.hello = this.hellos;
      return;
    }
    // A new connection: the server took us out of the call with the old one.
    if (s.hello < this.hellos) this.rejoin(s);
  }

  /** syncRings rings for the calls still ringing this user, named once their callers are known. */
  async syncRings(list) {
    const rings = list.filter((ev) => ev?.call_id && ev.callee_id === this.state.me.id);
    const callers = rings.map((ev) => ev.caller_id);
    if (this.state.missingUsers(callers).length) await this.ui.ensureUsers?.(callers)?.catch(() => {});
    this.incoming.sync(rings);
  }

  async rejoin(s) {
    const { channelId } = s;
    const keep = { mic: s.mic?.clone() || null, camera: s.camera?.clone() || null, muted: s.muted, title: s.title };
    this.finish(s);
    let running = null;
    try {
      running = await api.get(`/channels/${encodeURIComponent(channelId)}/call`);
    } catch {
      running = null;
    }
    if (!running) {
      keep.mic?.stop();
      keep.camera?.stop();
      this.ui.showNotice('The connection to the server dropped, and the call ended meanwhile.');
      return;
    }
    this.ui.showNotice('The connection to the server dropped: rejoining the call…');
    this.join(channelId, keep, { collapsed: !this.expanded });
  }

  onParticipantJoined({ call_id: callId, channel_id: channelId, participant }) {
    const room = this.rooms.get(channelId);
    if (room && room.id === callId) {
      if (!room.participants.some((p) => p.id === participant.id)) room.participants.push(participant);
      this.emit('rooms', channelId);
    } else if (channelId) {
      this.watchRoom(channelId);
    }
    if (this.mine(callId)) {
      this.addParticipant(participant);
      this.changed();
    }
  }

  onParticipantLeft({ call_id: callId, channel_id: channelId, participant_id: pid, reason }) {
    const room = this.rooms.get(channelId);
    if (room && room.id === callId) {
      room.participants = room.participants.filter((p) => p.id !== pid);
      this.emit('rooms', channelId);
    }
    if (!this.mine(callId)) return;
    const s = this.session;
    if (pid === s.myPid) {
      const why = {
        'connection lost': 'Your connection to the call was lost, so you left it.',
        'connection failed': iceTransportPolicy() === 'relay' ? RELAY_FAILED : MEDIA_FAILED,
        'removed by the host': 'The host removed you from the call.',
      }[reason];
      if (why) this.finish(s, { error: why });
      return;
    }
    s.participants.delete(pid);
    s.hands = s.hands.filter((h) => h !== pid);
    if (s.screenSharer === pid) s.screenSharer = '';
    this.changed();
  }

  onParticipantState({ call_id: callId, participant_id: pid, state }) {
    if (!this.mine(callId)) return;
    const p = this.session.participants.get(pid);
    if (p) {
      p.state = state;
      this.changed();
    }
  }

  onParticipantMuted({ call_id: callId, participant_id: pid, muted }) {
    const channelId = this.roomOf(callId);
    const room = channelId && this.rooms.get(channelId);
    const rp = room?.participants.find((p) => p.id === pid);
    if (rp) rp.muted = muted;
    if (!this.mine(callId)) return;
    const s = this.session;
    const p = s.participants.get(pid);
    if (p) p.muted = muted;
    if (pid === s.myPid && muted && !s.muted) this.applyMute(s, true, { tell: false });
    this.changed();
  }

  onSpeaking({ call_id: callId, participant_id: pid, speaking }) {
    if (!this.mine(callId)) return;
    const p = this.session.participants.get(pid);
    if (p && p.speaking !== speaking) {
      p.speaking = speaking;
      this.changed();
    }
  }

  onHostChanged({ call_id: callId, channel_id: channelId, host_id: hostId }) {
    const room = this.rooms.get(channelId);
    if (room && room.id === callId) room.host_id = hostId;
    if (!this.mine(callId)) return;
    const wasMe = this.session.hostId === this.state.me.id;
    this.session.hostId = hostId;
    if (hostId === this.state.me.id && !wasMe) this.ui.showNotice('You are now the host of this call.');
    this.changed();
  }

  onCallEnded({ call_id: callId, channel_id: channelId }) {
    if (this.rooms.get(channelId)?.id === callId) {
      this.rooms.delete(channelId);
      this.emit('rooms', channelId);
    }
    this.callRooms.delete(callId);
    if (this.mine(callId)) this.endedBy(callId, 'The call has ended.');
  }

  onHand({ call_id: callId, participant_id: pid, raised, hands }) {
    if (!this.mine(callId)) return;
    const s = this.session;
    s.hands = Array.isArray(hands) ? [...hands] : s.hands;
    if (pid === s.myPid) s.handRaised = raised;
    this.changed();
  }

  onReaction(callId, reaction) {
    if (!this.mine(callId) || !reaction) return;
    this.emit('reaction', { ...reaction, age: 0 });
  }

  onScreen({ call_id: callId, participant_id: pid, on }) {
    if (!this.mine(callId)) return;
    const s = this.session;
    if (on) s.screenSharer = pid;
    else if (s.screenSharer === pid) s.screenSharer = '';
    if (s.pendingScreen && pid === s.myPid && on) s.pendingScreen.resolve(true);
    this.changed();
  }

  onRecording({ call_id: callId, recording, reason }) {
    if (!this.mine(callId)) return;
    const s = this.session;
    const was = Boolean(s.recording);
    s.recording = recording?.on ? recording : null;
    if (!was && s.recording) this.ui.showNotice(`${this.state.userName(recording.by)} started recording this call.`);
    else if (was && !s.recording) this.ui.showNotice(reason ? `The recording stopped: ${reason}.` : 'The recording stopped. It will be posted in the call’s thread.');
    this.changed();
  }

  /** record starts or stops recording the call (host or admin). */
  record(on) {
    if (this.session?.callId) this.socket.send('call_record', { on });
  }

  onHostRequest({ call_id: callId, action }) {
    if (!this.mine(callId)) return;
    const s = this.session;
    if (action === 'mute') {
      this.applyMute(s, true, { tell: false });
      this.ui.showNotice('The host muted you. Unmute when you want to speak.');
    } else if (action === 'unmute') {
      s.unmuteAsked = Date.now();
      this.changed();
    } else if (action === 'stop_screen') {
      this.stopScreen({ byHost: true });
      this.ui.showNotice('The host stopped your screen share.');
    }
  }

  onRingState(ring) {
    const me = this.state.me.id;
    if (ring.callee_id === me) this.incoming.update(ring);
    if (ring.caller_id !== me) return;
    const s = this.session;
    const here = s && !s.ended && (s.callId === ring.call_id || (!s.callId && s.channelId === ring.channel_id));
    switch (ring.state) {
      case 'calling':
        if (here) {
          s.ring = ring;
          this.ringback.start();
        }
        break;
      case 'accepted':
        this.ringback.stop();
        if (here) {
          s.ring = null;
          if (!this.popoutMode) this.expanded = true;
        }
        break;
      case 'declined':
      case 'missed':
        this.ringback.stop();
        this.outcomes.set(ring.channel_id, { state: ring.state, calleeId: ring.callee_id, at: Date.now() });
        if (here) s.ring = null;
        // The room says it with a Call again button; elsewhere a notice does.
        if (!this.ui.isOpen?.(ring.channel_id)) {
          this.ui.showNotice(ring.state === 'declined'
            ? `${this.state.userName(ring.callee_id)} declined the call.`
            : `No answer: ${this.state.userName(ring.callee_id)} did not pick up.`);
        }
        this.emit('rooms', ring.channel_id);
        break;
      case 'cancelled':
        this.ringback.stop();
        if (here) s.ring = null;
        break;
      default:
        break;
    }
    this.changed();
  }

  onShutdown() {
    const text = 'The server is restarting, so the call ended. Join again in a moment.';
    if (this.session && !this.session.ended) {
      this.finish(this.session, { error: text });
    } else if (this.lastEnded && Date.now() - this.lastEnded.at < 3000) {
      // The server ends every call just before it says it is going away.
      this.ui.showError(text);
    }
  }

  onError({ code, error: message, request }) {
    const s = this.session;
    if (!code) return;
    if (s && s.phase === 'joining' && (request === 'call_join' || JOIN_ERRORS[code] || ['internal', 'bad_frame'].includes(code))) {
      const text = JOIN_ERRORS[code] || (message ? `The server could not add you to the call: ${message}.` : 'The server could not add you to the call. Try again.');
      if (code === 'no_access' || code === 'not_found') this.emit('no_access', s.channelId);
      this.fail(text);
      return;
    }
    if (code === 'screen_busy' && s?.pendingScreen) {
      s.pendingScreen.resolve(false);
      return;
    }
    if (code === 'not_host') {
      this.ui.showError('Only the host of the call can do that.');
      return;
    }
    if (code === 'already_recording') {
      this.ui.showNotice('This call is already being recorded.');
      return;
    }
    if (code === 'recording_disabled') {
      this.ui.showError('Recording is turned off on this server.');
      return;
    }
    if (CALL_REFUSALS[code]) {
      this.ui.showError(CALL_REFUSALS[code]);
      return;
    }
    if (code === 'not_in_call' && s && !s.ended && s.phase !== 'joining') {
      this.finish(s, { error: 'The server no longer has you in this call.' });
      return;
    }
    if (code === 'no_ring') this.incoming.clearStale();
    if (code === 'signal_failed' && s) console.warn('call: the server could not apply a signal', message);
  }

  // ---------- Media ----------

  remoteTrack(s, t) {
    if (this.session !== s) return;
    s.remote.set(t.key, t);
    if (t.track.kind === 'audio') this.playAudio(t);
    this.changed();
  }

  remoteTrackEnded(s, { key }) {
    if (!s.remote.delete(key)) return;
    this.audioHost.querySelector(`audio[data-key="${CSS.escape(key)}"]`)?.remove();
    this.changed();
  }

  playAudio(t) {
    this.audioHost.querySelector(`audio[data-key="${CSS.escape(t.key)}"]`)?.remove();
    const audio = el('audio', { autoplay: true, dataset: { key: t.key, participantId: t.participantId } });
    audio.srcObject = new MediaStream([t.track]);
    const userId = this.session?.participants.get(t.participantId)?.userId;
    audio.volume = this.volumeOf(userId);
    if (userId) audio.dataset.userId = userId;
    const { speakerId } = media.prefs();
    if (speakerId && audio.setSinkId) audio.setSinkId(speakerId).catch(() => {});
    this.audioHost.append(audio);
    audio.play().catch((err) => {
      // Autoplay rules: a window nobody clicked in yet (a pop-out, a
      // listener without a microphone) may not play sound on its own.
      if (err?.name === 'NotAllowedError' && this.session && !this.session.soundBlocked) {
        this.session.soundBlocked = true;
        this.changed();
      }
    });
  }

  /** unblockSound plays the call's audio after a click (autoplay was refused). */
  unblockSound() {
    for (const a of this.audioHost.querySelectorAll('audio')) a.play().catch(() => {});
    if (this.session) this.session.soundBlocked = false;
    this.changed();
  }

  /** streamsOf returns a participant's newest camera and screen streams. */
  streamsOf(pid) {
    const out = { camera: null, screen: null };
    const s = this.session;
    if (!s) return out;
    for (const t of s.remote.values()) {
      if (t.participantId !== pid || t.track.kind !== 'video' || t.track.readyState === 'ended') continue;
      if (t.source === 'screen') out.screen = t.stream;
      else if (t.source === 'camera') out.camera = t.stream;
    }
    return out;
  }

  connection(s, state) {
    if (this.session !== s || s.ended) return;
    if (state === 'connected') {
      s.phase = 'connected';
      this.checkTransport(s, 0);
    } else if (state === 'reconnecting') {
      s.phase = 'reconnecting';
    } else if (state === 'failed') {
      this.socket.send('call_leave');
      this.finish(s, { error: iceTransportPolicy() === 'relay' ? RELAY_FAILED : MEDIA_FAILED });
      return;
    }
    this.changed();
  }

  /**
   * checkTransport learns which path media took once ICE is connected. The
   * browser's stats may name the selected pair a moment after the
   * 'connected' event, so it asks again, up to 20 times, 250 ms apart.
   */
  checkTransport(s, attempt) {
    const client = this.client;
    if (!client || this.session !== s || s.ended) return;
    client.transport().then((info) => {
      if (this.session !== s || s.ended) return;
      if (!info) {
        if (attempt < 20) setTimeout(() => this.checkTransport(s, attempt + 1), 250);
        return;
      }
      s.transport = info.protocol;
      if (info.protocol === 'tcp') this.ui.showNotice(TCP_NOTICE);
      this.changed();
    }).catch(() => {});
  }

  startMeter(s) {
    s.meter?.stop();
    s.meter = null;
    if (!s.mic) return;
    s.meter = new media.LevelMeter(s.mic, (level) => {
      s.level = level;
      this.emit('level', level);
      // "You are muted": talking while muted for most of a second.
      if (s.muted && level > 0.5) s.loud += 1;
      else s.loud = Math.max(0, s.loud - 1);
      if (s.muted && s.loud >= 6 && !s.mutedHint) {
        s.mutedHint = true;
        this.changed();
        clearTimeout(s.hintTimer);
        s.hintTimer = setTimeout(() => {
          s.mutedHint = false;
          s.loud = 0;
          this.changed();
        }, 4000);
      }
    });
  }

  // ---------- Controls ----------

  async toggleMute() {
    const s = this.session;
    if (!s || s.ended) return;
    if (s.muted && !s.mic) {
      // A listener unmuting: open the microphone now.
      try {
        s.mic = await media.openMic();
      } catch (err) {
        this.ui.showError(err.message);
        return;
      }
      if (this.session !== s) {
        s.mic.stop();
        return;
      }
      await this.client?.setMic(s.mic);
      this.startMeter(s);
    }
    this.applyMute(s, !s.muted);
  }

  applyMute(s, muted, { tell = true } = {}) {
    s.muted = muted;
    s.mutedHint = false;
    s.unmuteAsked = muted ? s.unmuteAsked : 0;
    this.client?.setMicEnabled(!muted);
    if (tell) this.socket.send('call_mute', { muted });
    const me = s.participants.get(s.myPid);
    if (me) me.muted = muted;
    this.changed();
  }

  async toggleCamera() {
    const s = this.session;
    if (!s || s.ended) return;
    if (s.camera) {
      const track = s.camera;
      s.camera = null;
      this.changed();
      await this.client?.setCamera(null);
      track.stop();
      return;
    }
    let track;
    try {
      track = await media.openCamera();
    } catch (err) {
      this.ui.showError(err.message);
      return;
    }
    if (this.session !== s || s.ended) {
      track.stop();
      return;
    }
    s.camera = track;
    this.changed();
    await this.client?.setCamera(track);
  }

  async toggleScreen() {
    const s = this.session;
    if (!s || s.ended) return;
    if (s.screen) {
      await this.stopScreen();
      return;
    }
    if (s.screenSharer && s.screenSharer !== s.myPid) {
      this.ui.showError(`${this.nameOf(s.screenSharer)} is sharing their screen. One person can share at a time.`);
      return;
    }
    let stream;
    try {
      stream = await media.openScreen();
    } catch (err) {
      this.ui.showError(err.message);
      return;
    }
    if (!stream) return;
    if (this.session !== s || s.ended) {
      stream.getTracks().forEach((t) => t.stop());
      return;
    }
    // Claim the one screen slot first; the server may say someone else has it.
    const ok = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(true), SCREEN_TIMEOUT_MS);
      s.pendingScreen = { resolve: (v) => { clearTimeout(timer); resolve(v); } };
      this.socket.send('call_screen', { on: true });
    });
    s.pendingScreen = null;
    if (!ok || this.session !== s) {
      stream.getTracks().forEach((t) => t.stop());
      if (!ok) this.ui.showError('Someone else started sharing their screen first. One person can share at a time.');
      return;
    }
    s.screen = stream;
    stream.getVideoTracks()[0]?.addEventListener('ended', () => {
      if (this.session === s && s.screen === stream) this.stopScreen();
    });
    this.changed();
    await this.client?.startScreen(stream);
  }

  async stopScreen({ byHost = false } = {}) {
    const s = this.session;
    if (!s?.screen) return;
    const stream = s.screen;
    s.screen = null;
    if (!byHost) this.socket.send('call_screen', { on: false });
    this.changed();
    await this.client?.stopScreen({ drop: byHost });
    stream.getTracks().forEach((t) => t.stop());
  }

  toggleHand() {
    const s = this.session;
    if (!s?.callId) return;
    s.handRaised = !s.handRaised;
    this.socket.send('call_hand', { raised: s.handRaised });
    this.changed();
  }

  react(emoji) {
    if (!this.session?.callId) return;
    this.socket.send('call_reaction', { emoji });
  }

  /** isHost says whether I may use the host controls (the host, or an admin). */
  isHost() {
    const s = this.session;
    return Boolean(s && (s.hostId === this.state.me.id || this.state.me.role === 'admin'));
  }

  host(action, participantId = '') {
    if (!this.session?.callId) return;
    this.socket.send('call_host', { action, participant_id: participantId });
  }

  async endForAll() {
    const ok = await confirmDialog({
      title: 'End the call for everyone?',
      text: 'Everyone in the call will be disconnected.',
      confirmLabel: 'End call',
      danger: true,
    });
    if (ok && this.session?.callId) this.socket.send('call_end');
  }

  async removeParticipant(pid) {
    const ok = await confirmDialog({
      title: 'Remove from the call?',
      text: `${this.nameOf(pid)} will be disconnected from the call. They can join again.`,
      confirmLabel: 'Remove',
      danger: true,
    });
    if (ok) this.host('remove', pid);
  }

  /** openChat opens the call's thread (the call message is its root). */
  openChat() {
    const s = this.session;
    if (!s?.postId) return;
    if (this.popoutMode) {
      this.post({ type: 'open-chat', channelId: s.channelId, postId: s.postId });
      return;
    }
    if (window.matchMedia('(max-width: 767px)').matches) this.collapse();
    this.ui.openThread(s.channelId, s.postId);
  }

  openSettings() {
    deviceSettingsDialog({ calls: this });
  }

  /**
   * switchMic re-opens the microphone after a device or processing change.
   * The old track (and the meter's copy of it) stops first: Chromium keeps
   * a device's noise suppression and echo cancellation as they are while
   * any track of it is live, so a new track opened beside the old one
   * would silently keep the old processing.
   */
  async switchMic() {
    const s = this.session;
    if (!s?.mic) return;
    s.meter?.stop();
    s.meter = null;
    s.mic.stop();
    s.mic = null;
    let track;
    try {
      track = await media.openMic();
    } catch (err) {
      if (this.session === s && !s.ended) {
        await this.client?.setMic(null);
        this.applyMute(s, true);
        this.ui.showError(`${err.message} You are muted until a microphone works.`);
      }
      return;
    }
    if (this.session !== s || s.ended) {
      track.stop();
      return;
    }
    s.mic = track;
    track.enabled = !s.muted;
    await this.client?.setMic(track);
    this.client?.setMicEnabled(!s.muted);
    this.startMeter(s);
    this.changed();
  }

  async switchCamera() {
    const s = this.session;
    if (!s?.camera) return;
    let track;
    try {
      track = await media.openCamera();
    } catch (err) {
      this.ui.showError(err.message);
      return;
    }
    const old = s.camera;
    s.camera = track;
    await this.client?.setCamera(track);
    old.stop();
    this.changed();
  }

  setSpeaker(deviceId) {
    media.savePrefs({ speakerId: deviceId });
    for (const a of this.audioHost.querySelectorAll('audio')) a.setSinkId?.(deviceId).catch(() => {});
  }

  volumeOf(userId) {
    const v = this.volumes[userId];
    return Number.isFinite(v) ? v : 1;
  }

  setVolume(userId, v) {
    this.volumes[userId] = v;
    localStorage.setItem(VOLUMES_KEY, JSON.stringify(this.volumes));
    for (const a of this.audioHost.querySelectorAll(`audio[data-user-id="${CSS.escape(userId)}"]`)) a.volume = v;
  }

  nameOf(pid) {
    const p = this.session?.participants.get(pid);
    return p ? this.state.userName(p.userId) : 'Someone';
  }

  // ---------- Views ----------

  ensureViews() {
    if (!this.view) {
      this.view = callView({ calls: this, state: this.state, popout: this.popoutMode });
      this.ui.mountView(this.view.node);
    }
    if (!this.widget && !this.popoutMode) {
      this.widget = callWidget({ calls: this, state: this.state });
      this.ui.mountWidget(this.widget.node);
    }
  }

  expand() {
    if (!this.session) return;
    this.expanded = true;
    this.changed();
    this.view?.focus();
  }

  collapse() {
    if (this.popoutMode) return;
    this.expanded = false;
    this.changed();
  }

  /** roomOpened: moving to another room shows the room, with the call in the widget. */
  roomOpened(channelId) {
    if (this.expanded && this.session && this.session.channelId !== channelId) this.collapse();
  }

  outcome(channelId) {
    return this.outcomes.get(channelId) || null;
  }

  clearOutcome(channelId) {
    if (this.outcomes.delete(channelId)) this.emit('rooms', channelId);
  }

  // ---------- Pop-out ----------

  /** popOut moves the call into its own window; closing that window leaves the call. */
  popOut() {
    const s = this.session;
    if (!s?.callId || this.popoutMode) return;
    const q = new URLSearchParams({ popout: '1', mic: s.muted ? '0' : '1', camera: s.camera ? '1' : '0' });
    const w = window.open(`/call/${encodeURIComponent(s.channelId)}?${q}`, `calls-popout-${s.channelId}`, 'popup=yes,width=1040,height=720');
    if (!w) {
      this.ui.showError('The browser blocked the pop-out window. Allow pop-ups for this site, then try again.');
      return;
    }
    this.popout = { channelId: s.channelId, window: w, active: false };
    s.moving = true;
    this.changed();
    clearInterval(this.popoutTimer);
    this.popoutTimer = setInterval(() => {
      if (this.popout && this.popout.window.closed) this.popoutClosed(this.popout.channelId);
    }, 1000);
  }

  onBus(msg) {
    if (this.popoutMode) {
      if (msg.type === 'leave' && this.session?.channelId === msg.channelId) {
        this.leave();
        window.close();
      }
      return;
    }
    if (!this.popout || msg.channelId !== this.popout.channelId) return;
    if (msg.type === 'joined') {
      // The pop-out is in the call: this window steps out of it.
      const s = this.session;
      this.popout.active = true;
      if (s && s.channelId === msg.channelId) {
        this.socket.send('call_leave');
        this.finish(s);
      }
      this.changed();
    } else if (msg.type === 'closed') {
      this.popoutClosed(msg.channelId);
    } else if (msg.type === 'open-chat') {
      window.focus();
      this.ui.openThread(msg.channelId, msg.postId);
    }
  }

  popoutClosed(channelId) {
    if (this.popout?.channelId !== channelId) return;
    clearInterval(this.popoutTimer);
    const wasActive = this.popout.active;
    this.popout = null;
    if (this.session?.moving) this.session.moving = false;
    if (wasActive) this.ui.showNotice('You left the call.');
    this.changed();
    this.emit('rooms', channelId);
  }

  post(msg) {
    try {
      this.bus?.postMessage(msg);
    } catch {
      // the other window is gone
    }
  }

  destroy() {
    if (this.session) this.leave();
    for (const off of this.offs) off();
    document.removeEventListener('keydown', this.onKey);
    window.removeEventListener('pagehide', this.onUnload);
    clearInterval(this.popoutTimer);
    this.bus?.close();
    this.incoming.destroy();
    this.view?.destroy();
    this.widget?.destroy();
    this.ui.mountView(null);
    this.ui.mountWidget(null);
    this.audioHost.remove();
    this.ringback.stop();
  }
}

function loadVolumes() {
  try {
    return JSON.parse(localStorage.getItem(VOLUMES_KEY) || '{}') || {};
  } catch {
    return {};
  }
}
