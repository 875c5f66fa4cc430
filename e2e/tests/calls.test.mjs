// Calls in real browsers against the real server: a channel call with audio
// both ways, the call card and its conference log, screen share, hands,
// reactions and host mute; DM ringing (accept, decline with a reply, no
// answer). Chromium's fake devices supply the microphone, camera and screen.
import assert from 'node:assert/strict';
import { test, launchBrowser, newPage, login, screenshot } from '../lib/harness.mjs';
import {
  sidebarOf, roomLog, callView, controls, instrument, inboundGrows, openRoom, preflight, leave, setup,
} from '../lib/calls.mjs';

test('a channel call: audio both ways, the live card, screen share, hands, reactions, host mute, then the log', async () => {
  const { server, passwords, apis, team } = await setup(['alice', 'bob', 'carol']);
  const standup = await apis.alice.call('POST', '/channels', { team_id: team.id, name: 'standup', display_name: 'Standup', type: 'private' });
  for (const u of ['bob', 'carol']) await apis.alice.call('POST', `/channels/${standup.id}/members`, { user_id: apis[u].user.id });

  const browser = await launchBrowser();
  const [pa, pb, pc] = await Promise.all([newPage(browser), newPage(browser), newPage(browser)]);
  await Promise.all([instrument(pa), instrument(pb), instrument(pc)]);
  await Promise.all([
    login(pa, server.url, 'alice', passwords.alice),
    login(pb, server.url, 'bob', passwords.bob),
    login(pc, server.url, 'carol', passwords.carol),
  ]);
  await Promise.all([openRoom(pa, standup.id), openRoom(pb, standup.id)]);

  // Alice starts the call from the room header, through the pre-flight step.
  await pa.getByRole('button', { name: 'Start a call' }).click();
  await preflight(pa, 'Start call');
  await callView(pa).waitFor();
  await controls(pa).getByRole('button', { name: 'Mute', exact: true }).and(pa.locator(':enabled')).waitFor();
  // The mute shortcut works from anywhere in the app.
  await pa.keyboard.press('Control+Shift+Space');
  await controls(pa).getByRole('button', { name: 'Unmute', exact: true }).waitFor();
  await pa.keyboard.press('Control+Shift+Space');
  await controls(pa).getByRole('button', { name: 'Mute', exact: true }).waitFor();

  // Bob sees the live call card and joins from it.
  const bobCard = roomLog(pb).locator('.call-card-live');
  await bobCard.getByRole('button', { name: 'Join' }).click();
  await preflight(pb, 'Join call');
  await callView(pb).waitFor();

  // Audio flows both ways through the SFU.
  await Promise.all([inboundGrows(pa, 'audio', 'alice hears bob'), inboundGrows(pb, 'audio', 'bob hears alice')]);

  // The card shows both of them, live, at both ends.
  for (const page of [pa, pb]) {
    const card = roomLog(page).locator('.call-card-live');
    await card.locator(`[data-user-id="${apis.alice.user.id}"]`).waitFor();
    await card.locator(`[data-user-id="${apis.bob.user.id}"]`).waitFor();
  }
  await callView(pb).locator('.call-tile').nth(1).waitFor();
  assert.equal(await callView(pb).locator('.call-tile').count(), 2, 'bob sees two tiles');

  // Alice shares her screen: bob gets it as video, in the presenter layout.
  await controls(pa).getByRole('button', { name: 'Share screen' }).click();
  await controls(pa).getByRole('button', { name: 'Stop sharing' }).waitFor();
  await callView(pb).locator('.call-stage[data-layout="presenter"]').waitFor();
  await inboundGrows(pb, 'video', 'bob receives alice\'s screen');
  await callView(pb).getByText('alice is presenting').waitFor();
  await pb.waitForFunction(() => document.querySelector('.call-view:not([hidden]) .presenter-video')?.videoWidth > 0);

  // Bob raises his hand and reacts; alice sees both.
  await controls(pb).getByRole('button', { name: 'Raise hand' }).click();
  await callView(pa).getByRole('complementary', { name: 'Raised hands' }).getByText('bob').waitFor();
  await callView(pa).locator(`.call-tile[data-user-id="${apis.bob.user.id}"] .tile-hand:not([hidden])`).waitFor();
  await controls(pb).getByRole('button', { name: 'Send a reaction' }).click();
  await pb.getByRole('button', { name: 'React with 🎉' }).click();
  await callView(pa).locator('.call-reaction', { hasText: '🎉' }).first().waitFor();

  // The host mutes bob: his own controls say so.
  const bobTile = callView(pa).locator(`.call-tile[data-user-id="${apis.bob.user.id}"]`);
  await bobTile.hover();
  await bobTile.getByRole('button', { name: 'Options for bob' }).click();
  await pa.getByRole('menuitem', { name: 'Mute', exact: true }).click();
  await controls(pb).getByRole('button', { name: 'Unmute', exact: true }).waitFor();
  await bobTile.and(pa.locator('.is-muted')).waitFor();
  await pb.getByText('The host muted you').waitFor();

  // Carol joins with her camera on: three people in the call.
  await controls(pa).getByRole('button', { name: 'Stop sharing' }).click();
  await openRoom(pc, standup.id);
  await pc.locator('.room-call-bar.is-live').getByText('Call in progress').waitFor();
  const box = pc.getByRole('textbox', { name: /^Write to/ });
  await box.fill('/call join');
  await box.press('Enter');
  await preflight(pc, 'Join call', { camera: true });
  await callView(pa).locator('.call-tile').nth(2).waitFor();
  await callView(pa).locator('.call-stage[data-layout="grid"]').waitFor();
  await callView(pa).locator(`.call-tile.has-video[data-user-id="${apis.carol.user.id}"]`).waitFor({ timeout: 15_000 });
  await pa.waitForTimeout(500);
  await screenshot(pa, 'call-3');

  // Everyone leaves; the card becomes the conference log.
  await leave(pc);
  await leave(pb);
  await leave(pa);
  const log = roomLog(pa).locator('.call-card-ended');
  await log.waitFor();
  const names = await log.locator('.call-log-names').textContent();
  for (const u of ['alice', 'bob', 'carol']) assert.match(names, new RegExp(u), `the log lists ${u}`);
  assert.match(await log.textContent(), /Started by\s*alice/);
  await roomLog(pb).locator('.call-card-ended').waitFor();

  // The room's call history lists the call with its attendees.
  await pa.getByRole('button', { name: 'Call history' }).click();
  const history = pa.getByRole('complementary', { name: 'Calls' });
  const entry = history.getByRole('list', { name: 'Past calls' }).getByRole('listitem').first();
  await entry.waitFor();
  for (const u of ['alice', 'bob', 'carol']) await entry.locator(`[data-user-id="${apis[u].user.id}"]`).waitFor();
  const entryText = await entry.textContent();
  assert.match(entryText, /Started by\s*alice/);
  for (const u of ['alice', 'bob', 'carol']) assert.match(entryText, new RegExp(u), `the call history lists ${u}`);
  assert.equal(await history.getByRole('list', { name: 'Past calls' }).locator(':scope > li').count(), 1, 'one past call');
  await screenshot(pa, 'call-history');

  for (const page of [pa, pb, pc]) assert.deepEqual(page.problems, [], 'no page errors or CSP violations');
});

test('DM calls ring on every device: accepted, declined with a reply posted in the DM, dismissed on one device', async () => {
  const { server, passwords, apis } = await setup(['alice', 'bob']);
  const dm = await apis.alice.call('POST', '/dms', { user_ids: [apis.bob.user.id] });

  const browser = await launchBrowser();
  // Bob is logged in twice: pb2 is his other device.
  const [pa, pb, pb2] = await Promise.all([newPage(browser), newPage(browser), newPage(browser)]);
  await Promise.all([instrument(pa), instrument(pb)]);
  await Promise.all([
    login(pa, server.url, 'alice', passwords.alice),
    login(pb, server.url, 'bob', passwords.bob),
    login(pb2, server.url, 'bob', passwords.bob),
  ]);
  await openRoom(pa, dm.id);

  // Alice calls; bob, elsewhere in the app, gets the popup and the DM lights up.
  await pa.getByRole('button', { name: 'Start a call' }).click();
  await preflight(pa, 'Call');
  await pa.locator('.room-call-bar.is-calling').getByText('Calling bob…').waitFor();
  const popup = pb.getByRole('alertdialog', { name: 'alice' });
  const popup2 = pb2.getByRole('alertdialog', { name: 'alice' });
  await popup.waitFor();
  await popup2.waitFor();
  await sidebarOf(pb).locator(`a.room-link.is-ringing[data-channel-id="${dm.id}"]`).waitFor();
  await pa.locator('.call-widget').getByText('Calling bob…').waitFor();
  await pb.waitForTimeout(400); // let the popup's entrance animation finish
  await screenshot(pb, 'ringing');

  // Bob accepts: both hear each other; the ring is over everywhere.
  await popup.getByRole('button', { name: 'Accept' }).click();
  await callView(pb).waitFor();
  await pb.waitForURL((url) => url.pathname === `/channels/${dm.id}`);
  await Promise.all([inboundGrows(pa, 'audio', 'alice hears bob'), inboundGrows(pb, 'audio', 'bob hears alice')]);
  await sidebarOf(pb).locator(`a.room-link.is-ringing[data-channel-id="${dm.id}"]`).waitFor({ state: 'detached' });
  await popup2.waitFor({ state: 'detached' });
  await sidebarOf(pb2).locator(`a.room-link.is-ringing[data-channel-id="${dm.id}"]`).waitFor({ state: 'detached' });
  await pa.locator('.room-call-bar.is-calling').waitFor({ state: 'detached' });
  await leave(pb);
  await leave(pa);
  await roomLog(pa).locator('.call-card-ended').waitFor();

  // Alice calls again; bob declines with one of the quick replies.
  await openRoom(pb, (await apis.bob.call('GET', '/channels')).channels.find((c) => c.name === 'town-square').id);
  await pa.getByRole('button', { name: 'Start a call' }).click();
  await preflight(pa, 'Call');
  await popup.waitFor();
  await popup2.waitFor();
  await popup.getByRole('button', { name: 'Decline with a message' }).click();
  await popup.getByRole('button', { name: "Can't talk now, I'll call you back." }).click();
  await popup.waitFor({ state: 'detached' });
  await popup2.waitFor({ state: 'detached' }); // declining stops the ring on every device
  await pa.locator('.room-call-bar.is-declined').getByText('Declined').waitFor();
  await roomLog(pa).locator('article.post', { hasText: "Can't talk now, I'll call you back." }).waitFor();
  await pa.locator('section.call-view').waitFor({ state: 'hidden' });
  await pa.locator('.call-widget').waitFor({ state: 'hidden' });

  // A third time bob dismisses it on one device: the other rings on, and
  // alice still sees it ringing; there he declines with a reply he types.
  await pa.locator('.room-call-bar.is-declined').getByRole('button', { name: 'Call again' }).click();
  await preflight(pa, 'Call');
  await popup.waitFor();
  await popup2.waitFor();
  await popup.getByRole('button', { name: 'Dismiss' }).click();
  await popup.waitFor({ state: 'detached' });
  await pb.waitForTimeout(1000);
  assert.ok(await popup2.isVisible(), 'still ringing on the other device');
  assert.match(await pa.locator('.room-call-bar').textContent(), /Calling bob…/);
  await popup2.getByRole('button', { name: 'Decline with a message' }).click();
  await popup2.getByRole('textbox', { name: 'Your reply' }).fill('Driving, back at six');
  await popup2.getByRole('button', { name: 'Send' }).click();
  await popup2.waitFor({ state: 'detached' });
  await roomLog(pa).locator('article.post', { hasText: 'Driving, back at six' }).waitFor();
  await pa.locator('.room-call-bar.is-declined').getByText('Declined').waitFor();

  // A fourth time bob opens the app on a third device while it rings: it
  // rings there too. Then alice gives up first: her Cancel stops the ring
  // on all of bob's devices.
  await pa.locator('.room-call-bar.is-declined').getByRole('button', { name: 'Call again' }).click();
  await preflight(pa, 'Call');
  await popup.waitFor();
  await popup2.waitFor();
  const pb3 = await newPage(browser);
  await login(pb3, server.url, 'bob', passwords.bob);
  const popup3 = pb3.getByRole('alertdialog', { name: 'alice' });
  await popup3.waitFor();
  await pa.locator('.room-call-bar.is-calling').getByRole('button', { name: 'Cancel' }).click();
  await popup.waitFor({ state: 'detached' });
  await popup2.waitFor({ state: 'detached' });
  await popup3.waitFor({ state: 'detached' });
  await sidebarOf(pb2).locator(`a.room-link.is-ringing[data-channel-id="${dm.id}"]`).waitFor({ state: 'detached' });
  await pa.locator('.call-widget').waitFor({ state: 'hidden' });

  for (const page of [pa, pb, pb2, pb3]) assert.deepEqual(page.problems, [], 'no page errors or CSP violations');
});

test('a DM call nobody answers: Call again and a missed call; a full call and a call link you may not use', async () => {
  const { server, passwords, apis, team } = await setup(['alice', 'bob'], ['--ring-timeout', '3s', '--max-call-participants', '2']);
  const dm = await apis.alice.call('POST', '/dms', { user_ids: [apis.bob.user.id] });
  const secret = await apis.alice.call('POST', '/channels', { team_id: team.id, name: 'secret', display_name: 'Secret', type: 'private' });

  const browser = await launchBrowser();
  const [pa, pb] = await Promise.all([newPage(browser), newPage(browser)]);
  await Promise.all([login(pa, server.url, 'alice', passwords.alice), login(pb, server.url, 'bob', passwords.bob)]);
  await openRoom(pa, dm.id);

  await pa.getByRole('button', { name: 'Start a call' }).click();
  await preflight(pa, 'Call');
  const popup = pb.getByRole('alertdialog', { name: 'alice' });
  await popup.waitFor();

  // Three seconds later the server calls it missed: the ring stops, alice
  // can call again from the room, bob finds a missed call in the DM.
  const again = pa.locator('.room-call-bar.is-missed').getByRole('button', { name: 'Call again' });
  await again.waitFor({ timeout: 10_000 });
  assert.match(await pa.locator('.room-call-bar').textContent(), /No answer/);
  await popup.waitFor({ state: 'detached' });
  await pa.locator('.call-widget').waitFor({ state: 'hidden' });
  await sidebarOf(pb).locator(`a.room-link[data-channel-id="${dm.id}"] .badge`).waitFor();
  await openRoom(pb, dm.id);
  await roomLog(pb).locator('.call-card-missed').getByText('Missed call from alice').waitFor();
  await roomLog(pb).locator('.call-card-missed').getByRole('button', { name: 'Call back' }).waitFor();

  // Call again rings bob once more; he dismisses it on this device only,
  // so for alice it rings on until it is missed again.
  await again.click();
  await preflight(pa, 'Call');
  await popup.waitFor();
  await popup.getByRole('button', { name: 'Dismiss' }).click();
  await popup.waitFor({ state: 'detached' });
  await again.waitFor({ timeout: 10_000 });
  await pa.locator('.call-widget').waitFor({ state: 'hidden' });

  // This server takes two people per call: with alice and bob in a channel
  // call, bob's second browser is told the call is full.
  const town = (await apis.alice.call('GET', '/channels')).channels.find((c) => c.name === 'town-square');
  await openRoom(pa, town.id);
  await pa.getByRole('button', { name: 'Start a call' }).click();
  await preflight(pa, 'Start call');
  await openRoom(pb, town.id);
  await pb.getByRole('button', { name: 'Join the call' }).click();
  await preflight(pb, 'Join call');
  await callView(pb).waitFor();
  const pb2 = await newPage(browser);
  await login(pb2, server.url, 'bob', passwords.bob);
  await openRoom(pb2, town.id);
  await pb2.getByRole('button', { name: 'Join the call' }).click();
  await preflight(pb2, 'Join call');
  await pb2.getByRole('alert').getByText('This call is full').waitFor();
  await pb2.locator('section.call-view').waitFor({ state: 'hidden' });

  // A call link of a room bob is not in: a clear "no access" page.
  await pb2.goto(`${server.url}/call/${secret.id}`);
  await pb2.getByRole('heading', { name: 'You cannot join this call' }).waitFor();

  for (const page of [pa, pb, pb2]) assert.deepEqual(page.problems, [], 'no page errors or CSP violations');
});
