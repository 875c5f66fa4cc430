// A call whose media goes only through the embedded TURN server: both
// browsers are switched to iceTransportPolicy "relay" (the test switch in
// call-client.js, docs/TURN.md), so the only path to the SFU is a relayed
// candidate on our TURN port, relaying to the SFU's own RTC port — the one
// internal target the peer filter allows without --turn-allow-peer.
import assert from 'node:assert/strict';
import { test, launchBrowser } from '../lib/harness.mjs';
import {
  callView, instrument, inboundGrows, selectedPair, startCall, leave, setup, privateRoom, pagesInRoom,
} from '../lib/calls.mjs';

/** relayOnly switches a page's context to relay-only call media before the app loads. */
async function relayOnly(page) {
  await page.context().addInitScript(() => localStorage.setItem('calls.iceTransportPolicy', 'relay'));
}

async function metric(server, name) {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

test('relay-only browsers talk through the embedded TURN server', async () => {
  const env = await setup(['alice', 'bob']);
  const { server } = env;
  const room = await privateRoom(env, 'alice', 'relayed', ['bob']);
  const [, rtcPort] = await server.waitForLog(/msg="call media" udp=127\.0\.0\.1:(\d+)/);
  const turnLine = (await server.waitForLog(/msg=STUN\/TURN[^\n]*/))[0];
  assert.match(turnLine, /udp=127\.0\.0\.1:\d+/, 'TURN listens on a free loopback port');
  const relayedBefore = await metric(server, 'calls_turn_relayed_bytes_total');

  const browser = await launchBrowser();
  const [pa, pb] = await pagesInRoom(browser, env, room, ['alice', 'bob'], async (page) => {
    await instrument(page);
    await relayOnly(page);
  });
  await startCall(pa);
  await startCall(pb, 'Join call');
  await callView(pb).locator('.call-tile').nth(1).waitFor();

  await Promise.all([inboundGrows(pa, 'audio', 'alice hears bob'), inboundGrows(pb, 'audio', 'bob hears alice')]);
  for (const [who, page] of [['alice', pa], ['bob', pb]]) {
    const pair = await selectedPair(page);
    assert.ok(pair, `${who}: a selected candidate pair`);
    assert.equal(pair.iceTransportPolicy, 'relay', `${who}: the connection was made relay-only`);
    assert.equal(pair.local.candidateType, 'relay', `${who}: media leaves through a relayed candidate (${JSON.stringify(pair)})`);
    assert.equal(pair.remote.address, '127.0.0.1', `${who}: the relay reaches the SFU on loopback`);
    assert.equal(String(pair.remote.port), rtcPort, `${who}: the relay's peer is the SFU's RTC port`);
  }
  const relayedAfter = await metric(server, 'calls_turn_relayed_bytes_total');
  assert.ok(relayedAfter > (relayedBefore || 0), `TURN relayed bytes grew: ${relayedBefore} → ${relayedAfter}`);
  assert.equal(await metric(server, 'calls_turn_peer_refusals_total'), 0, 'the peer filter refused nothing');

  await leave(pb);
  await leave(pa);
  for (const page of [pa, pb]) assert.deepEqual(page.problems, [], 'no page errors or CSP violations');
});
