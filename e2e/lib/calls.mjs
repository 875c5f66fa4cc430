// Helpers shared by the browser tests of calls: finding the call's views,
// joining through the pre-flight dialog, and reading what media arrives
// with getStats(), the way chrome://webrtc-internals would.
import assert from 'node:assert/strict';
import { startServer, strongPassword, newPage, login } from './harness.mjs';
import { apiAs } from './api.mjs';

export const sidebarOf = (page) => page.getByRole('navigation', { name: 'Sidebar' });
export const roomLog = (page) => page.getByRole('log', { name: /^Messages in / });
export const callView = (page) => page.locator('section.call-view:not([hidden])');
export const controls = (page) => callView(page).getByRole('toolbar', { name: 'Call controls' });
export const widget = (page) => page.locator('section.call-widget:not([hidden])');

/**
 * instrument records every RTCPeerConnection the page makes, so a test can
 * read its getStats(). It is test code injected before the app loads; the
 * app knows nothing of it.
 */
export async function instrument(page) {
  await page.context().addInitScript(() => {
    const Native = window.RTCPeerConnection;
    window.__pcs = [];
    window.RTCPeerConnection = class extends Native {
      constructor(...args) {
        super(...args);
        window.__pcs.push(this);
      }
    };
  });
}

/** inbound sums inbound-rtp bytes of one kind over the page's open connections. */
export function inbound(page, kind) {
  return page.evaluate(async (k) => {
    let bytes = 0;
    for (const pc of window.__pcs || []) {
      if (pc.connectionState === 'closed') continue;
      const stats = await pc.getStats();
      stats.forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === k) bytes += s.bytesReceived || 0;
      });
    }
    return bytes;
  }, kind);
}

/** inboundGrows waits until inbound bytes of a kind are flowing (and still growing). */
export async function inboundGrows(page, kind, what) {
  const deadline = Date.now() + 20_000;
  let first = 0;
  while (Date.now() < deadline) {
    first = await inbound(page, kind);
    if (first > 0) break;
    await page.waitForTimeout(250);
  }
  assert.ok(first > 0, `${what}: no inbound ${kind} bytes within 20 s`);
  while (Date.now() < deadline) {
    await page.waitForTimeout(400);
    const now = await inbound(page, kind);
    if (now > first) return now;
  }
  assert.fail(`${what}: inbound ${kind} bytes stopped at ${first}`);
}

/**
 * selectedPair describes the candidate pair media flows on in the page's
 * open connection: {local: {candidateType, protocol, address}, remote, configuration}.
 */
export function selectedPair(page) {
  return page.evaluate(async () => {
    for (const pc of window.__pcs || []) {
      if (pc.connectionState === 'closed') continue;
      const stats = await pc.getStats();
      let pair = null;
      stats.forEach((s) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
      });
      if (!pair) continue;
      const pick = (c) => c && { candidateType: c.candidateType, protocol: c.protocol, address: c.address, port: c.port, relayProtocol: c.relayProtocol };
      return {
        state: pair.state,
        local: pick(stats.get(pair.localCandidateId)),
        remote: pick(stats.get(pair.remoteCandidateId)),
        iceTransportPolicy: pc.getConfiguration().iceTransportPolicy,
      };
    }
    return null;
  });
}

/** openRoom opens a room from the sidebar. */
export async function openRoom(page, id) {
  await sidebarOf(page).locator(`a.room-link[data-channel-id="${id}"]`).click();
  await page.waitForURL((url) => url.pathname === `/channels/${id}`);
  await roomLog(page).waitFor();
}

/** preflight confirms the pre-flight dialog (the microphone is on by default). */
export async function preflight(page, button, { camera = false } = {}) {
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  if (camera) {
    await dialog.getByRole('button', { name: 'Camera off' }).click();
    await dialog.getByRole('button', { name: 'Camera on' }).waitFor();
  }
  const go = dialog.getByRole('button', { name: button, exact: true });
  await go.and(page.locator(':enabled')).waitFor();
  // Chromium's fake microphone sometimes fails to start on a loaded
  // machine (NotReadableError, even after the app's own retries): the
  // dialog says so and offers the microphone button, which a person would
  // press to try again. Do the same, once, and say it happened.
  const busy = dialog.getByRole('alert').filter({ hasText: /microphone could not be started/ });
  if (await busy.isVisible()) {
    process.stderr.write(`# pre-flight: ${await busy.textContent()} Pressing the microphone to try again.\n`);
    await dialog.getByRole('button', { name: 'Microphone off' }).click();
    await dialog.getByRole('button', { name: 'Microphone on' }).waitFor();
  }
  await go.click();
  await dialog.waitFor({ state: 'detached' });
}

/** startCall starts (or joins) the call of the open room from its header, through the pre-flight step. */
export async function startCall(page, button = 'Start call') {
  await page.getByRole('button', { name: button === 'Join call' ? 'Join the call' : 'Start a call' }).click();
  await preflight(page, button);
  await callView(page).waitFor();
}

/** leave leaves the call from the call view or the widget. */
export async function leave(page) {
  const view = callView(page);
  if (await view.isVisible()) await controls(page).getByRole('button', { name: 'Leave call' }).click();
  else await page.locator('.call-widget').getByRole('button', { name: 'Leave call' }).click();
  await page.locator('section.call-view').waitFor({ state: 'hidden' });
}

/**
 * setup starts a server with these users (the first an admin), a team
 * "acme" they are all in, and API clients for each.
 */
export async function setup(users, args = []) {
  const passwords = Object.fromEntries(users.map((u) => [u, strongPassword()]));
  const server = await startServer({
    users: users.map((u, i) => ({ username: u, password: passwords[u], admin: i === 0 })),
    args,
  });
  const apis = {};
  for (const u of users) apis[u] = await apiAs(server.url, u, passwords[u]);
  const team = await apis[users[0]].call('POST', '/teams', { name: 'acme', display_name: 'Acme' });
  for (const u of users.slice(1)) await apis[users[0]].call('POST', `/teams/${team.id}/members`, { user_id: apis[u].user.id });
  return { server, passwords, apis, team };
}

/** privateRoom creates a private channel in team, owned by owner, with these other members. */
export async function privateRoom({ apis, team }, owner, name, members) {
  const room = await apis[owner].call('POST', '/channels', {
    team_id: team.id, name, display_name: name[0].toUpperCase() + name.slice(1), type: 'private',
  });
  for (const u of members) await apis[owner].call('POST', `/channels/${room.id}/members`, { user_id: apis[u].user.id });
  return room;
}

/**
 * pagesInRoom opens a page in browser for each of users, runs prepare on
 * each first (init scripts go in before the app loads: instrument, a
 * firewall, relay-only), logs each in and opens room on every page.
 */
export async function pagesInRoom(browser, { server, passwords }, room, users, prepare = null) {
  const pages = await Promise.all(users.map(() => newPage(browser)));
  if (prepare) for (const page of pages) await prepare(page);
  await Promise.all(pages.map((page, i) => login(page, server.url, users[i], passwords[users[i]])));
  await Promise.all(pages.map((page) => openRoom(page, room.id)));
  return pages;
}
