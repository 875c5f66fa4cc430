// call-client.js is the media side of one call participation: one
// RTCPeerConnection to the server's SFU, signaled over the app's websocket
// (docs/PROTOCOL.md, "Negotiation").
//
// The client is the POLITE side of perfect negotiation: it offers whenever
// its own tracks change (negotiationneeded); when the server's offer
// crosses one of ours, setRemoteDescription rolls ours back implicitly, we
// answer, and the browser fires negotiationneeded again so ours goes out
// afterwards. Signaling messages are applied one at a time, in order.
//
// There is always one audio and one video transceiver of our own: sending
// (sendrecv) when the microphone or camera is on at join, receive-only
// otherwise (a listener). Turning a device on later flips the direction and
// renegotiates once; turning the camera off and on again only swaps the
// track (replaceTrack), so nobody renegotiates for it.

const CONNECT_TIMEOUT_MS = 20_000;
const SOURCES = ['screen_audio', 'screen', 'camera', 'mic'];
// RELAY_KEY is a switch for tests and troubleshooting (docs/TURN.md): with
// localStorage["calls.iceTransportPolicy"] = "relay" this browser sends its
// call media only through the TURN relays the server hands out.
const RELAY_KEY = 'calls.iceTransportPolicy';

/** iceTransportPolicy is 'relay' when this browser was switched to relay-only media, else 'all'. */
export function iceTransportPolicy() {
  try {
    return localStorage.getItem(RELAY_KEY) === 'relay' ? 'relay' : 'all';
  } catch {
    return 'all';
  }
}

/**
 * parseStreamId reads "<participant id>_<source>" (a source the server had
 * to rename carries a suffix: "<id>_screen_<track id>").
 */
export function parseStreamId(id = '') {
  const i = id.indexOf('_');
  if (i < 0) return { participantId: id, source: '' };
  const rest = id.slice(i + 1);
  const source = SOURCES.find((s) => rest === s || rest.startsWith(`${s}_`)) || rest;
  return { participantId: id.slice(0, i), source };
}

/**
 * CallClient runs the RTCPeerConnection.
 *
 *   const c = new CallClient({ send, onTrack, onTrackEnded, onConnection });
 *   c.start({ iceServers, mic, camera });   // after call_joined
 *   socket.on('call_signal', (d) => c.handleSignal(d));
 *
 * onTrack({key, participantId, source, track, stream}) and
 * onTrackEnded({key, track}) report remote media; onConnection(state) gets
 * 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'closed'.
 */
export class CallClient {
  constructor({ send, onTrack = () => {}, onTrackEnded = () => {}, onConnection = () => {} }) {
    this.send = send;
    this.onTrack = onTrack;
    this.onTrackEnded = onTrackEnded;
    this.onConnection = onConnection;
    this.pc = null;
    this.queue = Promise.resolve();
    this.makingOffer = false;
    this.early = []; // the server's candidates that came before its description
    this.closed = false;
    this.audio = null; // our audio transceiver
    this.video = null; // our camera transceiver
    this.screen = null; // {video, audio} transceivers of the screen share, once used
    this.streams = { mic: new MediaStream(), camera: new MediaStream(), screen: new MediaStream() };
    this.connected = false;
    this.timer = null;
  }

  /** start builds the connection and sends the first offer. */
  start({ iceServers = [], mic = null, camera = null }) {
    const pc = new RTCPeerConnection({
      iceServers, iceTransportPolicy: iceTransportPolicy(), bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require',
    });
    this.pc = pc;
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && candidate.candidate) this.send('call_signal', { type: 'candidate', candidate: candidate.toJSON() });
    };
    pc.onnegotiationneeded = () => this.offer();
    pc.ontrack = (event) => this.remoteTrack(event);
    pc.onconnectionstatechange = () => this.connectionChanged();

    this.audio = this.addOwn('audio', mic, 'mic');
    this.video = this.addOwn('video', camera, 'camera');
    this.onConnection('connecting');
    this.timer = setTimeout(() => {
      if (!this.connected && !this.closed) this.onConnection('failed');
    }, CONNECT_TIMEOUT_MS);
  }

  addOwn(kind, track, source) {
    if (!track) return this.pc.addTransceiver(kind, { direction: 'recvonly' });
    this.streams[source].addTrack(track);
    const tx = this.pc.addTransceiver(track, { direction: 'sendrecv', streams: [this.streams[source]] });
    this.name(track, source);
    return tx;
  }

  /** name tells the server what a track carries, before the offer that has it. */
  name(track, source) {
    this.send('call_track', { track_id: track.id, source });
  }

  async offer() {
    const pc = this.pc;
    if (!pc || this.closed) return;
    try {
      this.makingOffer = true;
      await pc.setLocalDescription();
      if (pc.localDescription?.type === 'offer') this.send('call_signal', { type: 'offer', sdp: pc.localDescription.sdp });
    } catch (err) {
      console.warn('call: offer failed', err);
    } finally {
      this.makingOffer = false;
    }
  }

  /** handleSignal queues one call_signal from the server. */
  handleSignal(sig) {
    this.queue = this.queue.then(() => this.apply(sig)).catch((err) => console.warn('call: signaling', err));
    return this.queue;
  }

  async apply({ type, sdp, candidate }) {
    const pc = this.pc;
    if (!pc || this.closed) return;
    if (type === 'offer') {
      // Polite: a crossing offer of ours is rolled back by this call.
      await pc.setRemoteDescription({ type, sdp });
      await pc.setLocalDescription();
      this.send('call_signal', { type: 'answer', sdp: pc.localDescription.sdp });
    } else if (type === 'answer') {
      // An answer to an offer we already rolled back is stale.
      if (pc.signalingState !== 'have-local-offer') return;
      await pc.setRemoteDescription({ type, sdp });
    } else if (type === 'candidate' && candidate) {
      // A candidate can only be added once there is a remote description
      // to add it to; any that come first wait for it.
      if (!pc.remoteDescription) {
        if (this.early.length < 64) this.early.push(candidate);
        return;
      }
      await this.addCandidate(pc, candidate);
    }
    if (pc.remoteDescription && this.early.length) {
      const early = this.early;
      this.early = [];
      for (const c of early) await this.addCandidate(pc, c);
    }
  }

  async addCandidate(pc, candidate) {
    try {
      await pc.addIceCandidate(candidate);
    } catch (err) {
      console.warn('call: bad candidate', err);
    }
  }

  remoteTrack({ track, streams, transceiver }) {
    const stream = streams[0] || new MediaStream([track]);
    const { participantId, source } = parseStreamId(stream.id);
    const key = `${stream.id}/${transceiver?.mid ?? track.id}`;
    const gone = () => this.onTrackEnded({ key, track });
    stream.addEventListener('removetrack', (event) => {
      if (event.track === track) gone();
    });
    track.addEventListener('ended', gone, { once: true });
    this.onTrack({ key, participantId, source: source || (track.kind === 'audio' ? 'mic' : 'camera'), track, stream });
  }

  connectionChanged() {
    const state = this.pc?.connectionState;
    if (state === 'connected') {
      this.connected = true;
      clearTimeout(this.timer);
      this.onConnection('connected');
    } else if (state === 'disconnected') {
      this.onConnection('reconnecting');
    } else if (state === 'failed') {
      this.onConnection('failed');
    }
  }

  /** setMicEnabled mutes by sending silence: the track keeps capturing for the level meter. */
  setMicEnabled(on) {
    const track = this.audio?.sender.track;
    if (track) track.enabled = on;
  }

  /** setMic puts a (new) microphone track on the audio sender. */
  async setMic(track) {
    await this.setOwn(this.audio, track, 'mic');
  }

  /** setCamera shows a camera track, or none (null: stops sending video). */
  async setCamera(track) {
    await this.setOwn(this.video, track, 'camera');
  }

  async setOwn(tx, track, source) {
    if (!tx || this.closed) return;
    const stream = this.streams[source];
    for (const t of stream.getTracks()) stream.removeTrack(t);
    if (track) stream.addTrack(track);
    if (track && tx.direction !== 'sendrecv') {
      // First use of a receive-only transceiver: one renegotiation.
      this.name(track, source);
      tx.sender.setStreams?.(stream);
      tx.direction = 'sendrecv';
    }
    await tx.sender.replaceTrack(track);
  }

  /**
   * startScreen sends a screen stream (video, and audio when the tab's sound
   * was shared). The first share adds transceivers (one renegotiation);
   * later shares reuse them.
   */
  async startScreen(stream) {
    const video = stream.getVideoTracks()[0] || null;
    const audio = stream.getAudioTracks()[0] || null;
    const screen = this.streams.screen;
    for (const t of screen.getTracks()) screen.removeTrack(t);
    for (const t of stream.getTracks()) screen.addTrack(t);
    if (!this.screen) this.screen = { video: null, audio: null };
    for (const [kind, track, source] of [['video', video, 'screen'], ['audio', audio, 'screen_audio']]) {
      const tx = this.screen[kind];
      if (tx) {
        await tx.sender.replaceTrack(track);
      } else if (track) {
        this.name(track, source);
        this.screen[kind] = this.pc.addTransceiver(track, { direction: 'sendrecv', streams: [screen] });
      }
    }
  }

  /**
   * stopScreen stops sending the screen. drop: also give up the screen's
   * transceivers (after the host stopped the share, the server will not
   * forward that track again, so the next share needs new ones).
   */
  async stopScreen({ drop = false } = {}) {
    if (!this.screen || this.closed) return;
    for (const kind of ['video', 'audio']) {
      const tx = this.screen[kind];
      if (!tx) continue;
      if (drop) {
        try {
          this.pc.removeTrack(tx.sender);
        } catch {
          // already removed
        }
      } else {
        await tx.sender.replaceTrack(null);
      }
    }
    if (drop) this.screen = null;
  }

  /** transport reports how media flows: {protocol: 'udp'|'tcp', relayed, rtt} or null. */
  async transport() {
    if (!this.pc) return null;
    const stats = await this.pc.getStats();
    let pair = null;
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
    });
    if (!pair) stats.forEach((s) => { if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s; });
    if (!pair) return null;
    const local = stats.get(pair.localCandidateId);
    if (!local) return null;
    return {
      protocol: local.protocol || 'udp',
      relayed: local.candidateType === 'relay',
      rtt: pair.currentRoundTripTime,
    };
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    if (this.pc) {
      this.pc.onicecandidate = this.pc.onnegotiationneeded = this.pc.ontrack = this.pc.onconnectionstatechange = null;
      this.pc.close();
    }
    this.onConnection('closed');
  }
}
