// What a person is told when a call cannot work as it should, provoked for
// real in Chromium: the microphone permission refused, no microphone at
// all, media that cannot connect (relay-only with the server's TURN off),
// media that only gets through over TCP (UDP dropped as by a firewall), and the server shutting down
// during a call. (A full call and a room you may not call in are in
// calls.test.mjs.)
import assert from 'node:assert/strict';
import { test, launchBrowser, newPage, login } from '../lib/harness.mjs';
import {
  callView, controls, instrument, inboundGrows, selectedPair, openRoom, preflight, startCall, leave, setup, privateRoom, pagesInRoom,
} from '../lib/calls.mjs';

const errorBanner = (page) => page.getByRole('alert').filter({ hasText: /\S/ });

/**
 * blockCandidates plays a firewall between this page and the server's
 * media ports: neither side learns the other's ICE candidates whose line
 * matches pattern (e.g. / udp /), so ICE can pair only the others. Test
 * code injected before the app loads.
 */
async function blockCandidates(page, pattern) {
  await page.addInitScript(({ source, flags }) => {
    const blocked = new RegExp(source, flags);
    const matches = (c) => blocked.test(typeof c === 'string' ? c : c?.candidate || '');
    const Native = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends Native {
      addIceCandidate(c, ...rest) {
        return c && matches(c) ? Promise.resolve() : super.addIceCandidate(c, ...rest);
      }

      set onicecandidate(fn) {
        super.onicecandidate = fn && ((event) => {
          if (!(event.candidate && matches(event.candidate))) fn(event);
        });
      }

      get onicecandidate() {
        return super.onicecandidate;
      }
    };
  }, { source: pattern.source, flags: pattern.flags });
}

test('microphone refused, or none at all: said in the pre-flight, and the call goes on as a listener', async () => {
  const env = await setup(['alice', 'bob', 'carol']);
  const { server, passwords } = env;
  const room = await privateRoom(env, 'alice', 'sync', ['bob', 'carol']);

  // Alice talks from a browser with a (fake) microphone.
  const normal = await launchBrowser();
  const pa = await newPage(normal);
  await login(pa, server.url, 'alice', passwords.alice);
  await openRoom(pa, room.id);
  await startCall(pa);

  // Bob's browser does not grant the microphone: the pre-flight says so and how to fix it.
  const refusing = await launchBrowser({ fakeUI: false });
  const pb = await newPage(refusing);
  await login(pb, server.url, 'bob', passwords.bob);
  await openRoom(pb, room.id);
  await pb.getByRole('button', { name: 'Join the call' }).click();
  const dialog = pb.getByRole('dialog');
  await dialog.getByRole('alert').getByText(/Access to your microphone was denied\. Allow it for this site .* You can still join and listen\./).waitFor();
  await dialog.getByRole('button', { name: 'Microphone off' }).waitFor();
  await preflight(pb, 'Join call');
  await callView(pb).waitFor();
  await controls(pb).getByRole('button', { name: 'Unmute', exact: true }).and(pb.locator(':enabled')).waitFor();
  // Unmuting asks for the microphone again, and is refused again, with the same advice.
  await controls(pb).getByRole('button', { name: 'Unmute', exact: true }).click();
  await errorBanner(pb).getByText(/Access to your microphone was denied/).waitFor();
  await controls(pb).getByRole('button', { name: 'Unmute', exact: true }).waitFor();

  // Carol's browser has no microphone or camera at all: she is told, joins, and hears alice.
  const empty = await launchBrowser({ fakeDevices: false });
  const pc = await newPage(empty);
  await instrument(pc);
  await login(pc, server.url, 'carol', passwords.carol);
  await openRoom(pc, room.id);
  await pc.getByRole('button', { name: 'Join the call' }).click();
  await pc.getByRole('dialog').getByRole('alert').getByText(/No microphone was found\. Plug one in, or check that it is turned on\. You can still join and listen\./).waitFor();
  await preflight(pc, 'Join call');
  await callView(pc).waitFor();
  await inboundGrows(pc, 'audio', 'carol (a listener) hears alice');
  await controls(pc).getByRole('button', { name: 'Turn camera on' }).click();
  await errorBanner(pc).getByText(/No camera was found/).waitFor();
  await callView(pa).locator('.call-tile').nth(2).waitFor();

  for (const page of [pa, pb, pc]) assert.deepEqual(page.problems, [], 'no page errors or CSP violations');
});

test('media that cannot connect, and media over the TCP fallback, are explained', async () => {
  // TURN is off on this server, so there is no relay to fall back on.
  const env = await setup(['alice', 'bob', 'carol'], ['--turn=false']);
  const { server, passwords } = env;
  const room = await privateRoom(env, 'alice', 'blocked', ['bob', 'carol']);
  const browser = await launchBrowser();
  const [pa, pb, pc] = await Promise.all([newPage(browser), newPage(browser), newPage(browser)]);
  // Alice's firewall drops UDP and TCP to the server's media: nothing connects.
  await blockCandidates(pa, /\b(udp|tcp)\b/i);
  // Carol's browser may only use relays (the test switch), and there are none.
  await pc.addInitScript(() => localStorage.setItem('calls.iceTransportPolicy', 'relay'));
  // Bob's firewall drops UDP only.
  await blockCandidates(pb, /\budp\b/i);
  await instrument(pb);
  await Promise.all([
    login(pa, server.url, 'alice', passwords.alice),
    login(pb, server.url, 'bob', passwords.bob),
    login(pc, server.url, 'carol', passwords.carol),
  ]);
  await Promise.all([openRoom(pa, room.id), openRoom(pb, room.id), openRoom(pc, room.id)]);

  await startCall(pa);
  await startCall(pc, 'Join call');
  await errorBanner(pa).getByText(/could not connect\. The server.s UDP media port \(its --rtc-port setting, 8443 by default\) is probably blocked by a firewall: ask your admin to open it\. The fallback over TCP through the web port did not get through either\./)
    .waitFor({ timeout: 40_000 });
  await errorBanner(pc).getByText(/could not connect through the server.s TURN relay, and this browser is set to use nothing else/).waitFor({ timeout: 40_000 });
  for (const page of [pa, pc]) await page.locator('section.call-view').waitFor({ state: 'hidden' });

  // Bob reaches the SFU over ICE-TCP on the web port, and the call says so.
  await startCall(pb);
  await callView(pb).getByText('TCP fallback').waitFor({ timeout: 30_000 });
  await pb.getByText(/Media is using the TCP fallback through the web port because the UDP port \(--rtc-port\) is not reachable/).waitFor();
  const pair = await selectedPair(pb);
  assert.equal(pair?.local.protocol, 'tcp', `media flows over TCP: ${JSON.stringify(pair)}`);
  assert.equal(pair.remote.port, Number(new URL(server.url).port), `to the web port: ${JSON.stringify(pair)}`);
  await leave(pb);

  for (const page of [pa, pb, pc]) assert.deepEqual(page.problems, [], 'no page errors or CSP violations');
});

test('the server shutting down ends the call with a clear message', async () => {
  const env = await setup(['alice', 'bob']);
  const { server } = env;
  const room = await privateRoom(env, 'alice', 'late', ['bob']);
  const browser = await launchBrowser();
  const [pa, pb] = await pagesInRoom(browser, env, room, ['alice', 'bob']);
  await startCall(pa);
  await startCall(pb, 'Join call');
  await callView(pa).locator('.call-tile').nth(1).waitFor();

  await server.kill('SIGTERM');
  for (const page of [pa, pb]) {
    await errorBanner(page).getByText('The server is restarting, so the call ended. Join again in a moment.').waitFor();
    await page.locator('section.call-view').waitFor({ state: 'hidden' });
    await page.locator('.call-widget').waitFor({ state: 'hidden' });
  }
  for (const page of [pa, pb]) assert.deepEqual(page.problems, [], 'no page errors or CSP violations');
});
