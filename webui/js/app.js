// app.js is the entry point: it asks the server whether it still needs setting
// up and who is signed in, then shows the setup, login or app shell view, or
// one of the public pages an invite or reset link leads to.
import * as api from './api.js';
import { el } from './dom.js';
import { icon } from './icons.js';
import { loginView } from './login.js';
import { setupView } from './setup.js';
import { shellView } from './shell.js';
import { Socket } from './socket.js';
import { callPopoutView } from './call-popout.js';
import { popoutFromLocation } from './call-link.js';
import { publicPageFromPath } from './router.js';
import { signupView } from './signup.js';
import { resetView } from './reset-password.js';

const root = document.getElementById('app');

const app = {
  siteName: 'calls',
  user: null,
  view: null,
  socket: null,
  signup: 'closed', // who may create an account: closed, invite or open
};

/** mount replaces the current view. name lands in #app[data-view] for tests and styles. */
function mount(name, view) {
  app.view?.destroy?.();
  app.view = view;
  root.dataset.view = name;
  root.replaceChildren(view.node);
  view.focus?.();
}

function setSiteName(name) {
  if (typeof name === 'string' && name.trim()) app.siteName = name.trim();
  document.title = app.siteName;
}

async function boot() {
  const [setup, me] = await Promise.allSettled([api.setupStatus(), api.me()]);
  if (setup.status === 'fulfilled') {
    setSiteName(setup.value.site_name);
    if (typeof setup.value.signup === 'string') app.signup = setup.value.signup;
    if (setup.value.needed) {
      showSetup();
      return;
    }
  }
  const page = publicPageFromPath();
  if (page && showPublic(page)) return;
  if (me.status === 'fulfilled') {
    const popout = popoutFromLocation();
    if (popout) showPopout(me.value, popout);
    else showShell(me.value);
    return;
  }
  if (me.reason.status === 401) {
    showLogin();
    return;
  }
  showUnavailable(me.reason);
}

function showSetup() {
  stopSocket();
  mount('setup', setupView({
    siteName: app.siteName,
    onDone: showShell,
    onAlreadySetUp: () => showLogin('This server is already set up. Log in with your account.'),
  }));
}

function showLogin(notice) {
  stopSocket();
  app.user = null;
  if (publicPageFromPath()) history.replaceState(null, '', '/');
  mount('login', loginView({
    siteName: app.siteName,
    onLoggedIn: showShell,
    notice,
    onSignup: app.signup === 'open' ? () => showPublic({ kind: 'signup' }) : null,
  }));
}

/** showPublic shows the invite, reset or sign-up page; false when there is none to show. */
function showPublic({ kind, token }) {
  stopSocket();
  let view;
  if (kind === 'invite') {
    view = signupView({ siteName: app.siteName, mode: 'invite', token, onSignedUp: showShell, onLogin: () => showLogin() });
  } else if (kind === 'reset') {
    view = resetView({ siteName: app.siteName, token, onDone: (notice) => showLogin(notice) });
  } else if (kind === 'signup' && app.signup === 'open') {
    if (location.pathname !== '/signup') history.pushState(null, '', '/signup');
    view = signupView({ siteName: app.siteName, mode: 'open', onSignedUp: showShell, onLogin: () => showLogin() });
  } else {
    return false;
  }
  app.user = null;
  mount(kind, view);
  view.start();
  return true;
}

function showShell(user) {
  stopSocket();
  app.user = user;
  const socket = new Socket({
    onResync: refresh,
    onStatus: (state, info) => {
      view.setConnection(state, info);
      // A handshake that never opened may mean the session ended (expired,
      // revoked, user deactivated): the websocket cannot say so, the API can.
      if (state === 'reconnecting' && !info.opened) checkSession();
    },
  });
  const view = shellView({
    siteName: app.siteName,
    user,
    socket,
    onLogout: logOut,
    onReconnectNow: () => app.socket?.reconnectNow(),
  });
  mount('shell', view);
  socket.on('hello', (data) => {
    if (data.user) {
      app.user = data.user;
      view.setUser(data.user);
    }
  });
  app.socket = socket;
  socket.connect();
  view.start();
}

/** showPopout runs the call alone in this window (opened by the app's "Open in a new window"). */
function showPopout(user, { channelId, mic, camera }) {
  stopSocket();
  app.user = user;
  const socket = new Socket({ onStatus: () => {} });
  const view = callPopoutView({ user, socket, siteName: app.siteName, channelId, mic, camera });
  mount('popout', view);
  app.socket = socket;
  socket.connect();
  view.start();
}

function stopSocket() {
  app.socket?.close();
  app.socket = null;
}

/** refresh refetches what the shell shows after the socket lost events. */
async function refresh() {
  try {
    const user = await api.me();
    app.user = user;
    app.view?.setUser?.(user);
    app.view?.resync?.();
  } catch (err) {
    if (err.status === 401 && root.dataset.view === 'shell') showLogin('Your session has ended. Log in again.');
  }
}

let checking = false;
async function checkSession() {
  if (checking) return;
  checking = true;
  try {
    await api.me();
  } catch (err) {
    if (err.status === 401 && root.dataset.view === 'shell') showLogin('Your session has ended. Log in again.');
  } finally {
    checking = false;
  }
}

async function logOut() {
  // Close the socket first so its reconnect logic does not race the logout.
  const socket = app.socket;
  stopSocket();
  const view = app.view;
  try {
    await api.logout();
  } catch (err) {
    // Already signed out on the server: the login view is the right place.
    if (err.status !== 401) {
      if (app.view === view) {
        view.showError(`Could not log out: ${err.message}`);
        app.socket = socket;
        socket?.connect();
      }
      return;
    }
  }
  showLogin();
}

function showUnavailable(err) {
  const retry = el('button', { type: 'button', class: 'button button-primary' }, 'Try again');
  retry.addEventListener('click', () => {
    retry.disabled = true;
    boot();
  });
  mount('error', {
    node: el('div', { class: 'auth-page' },
      el('main', { class: 'auth-card auth-card-center' },
        el('div', { class: 'empty-art empty-art-danger', 'aria-hidden': 'true' }, icon('alert', { size: 32 })),
        el('h1', { class: 'auth-title' }, `${app.siteName} is not reachable`),
        el('p', { class: 'auth-intro', role: 'alert' }, err.message),
        retry,
      ),
    ),
    focus: () => retry.focus(),
  });
}

boot();
