// Being in a call, in real browsers: talking while muted, speaking rings,
// the camera in a DM, device settings and per-person volume during a call,
// the call widget on every screen, host controls (mute all, ask to unmute,
// hands, stopping a share, make host, remove, end for everyone) and host
// hand-over when the host leaves, reactions shown to a late joiner, and the
// pop-out window (closing it leaves the call).
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test, launchBrowser, newPage, login } from '../lib/harness.mjs';
import {
  roomLog, callView, controls, widget, instrument, inboundGrows, openRoom, preflight, startCall, leave,
  setup, privateRoom, pagesInRoom,
} from '../lib/calls.mjs';

const tile = (page, userId) => callView(page).locator(`.call-tile[data-user-id="${userId}"]`);
const errorBanner = (page) => page.getByRole('alert').filter({ hasText: /\S/ });

/**
 * speechWav writes a WAV that sounds like someone talking loudly: a chord
 * that comes in bursts (a steady tone would be taken for noise and
 * suppressed). Chromium plays it, looped, as its fake microphone.
 */
async function speechWav() {
  const rate = 48_000;
  const seconds = 4;
  const n = rate * seconds;
  const data = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const burst = (t % 0.7) < 0.55 ? 1 : 0.02;
    const v = burst * 0.3 * (Math.sin(2 * Math.PI * 220 * t) + Math.sin(2 * Math.PI * 530 * t) + 0.6 * Math.sin(2 * Math.PI * 1210 * t));
    data.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v * 32767))), i * 2);
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'calls-e2e-wav-'));
  const file = path.join(dir, 'speech.wav');
  await fsp.writeFile(file, Buffer.concat([header, data]));
  return { file, remove: () => fsp.rm(dir, { recursive: true, force: true }) };
}

test('in a DM call: speaking rings, talking while muted, the camera, device settings, volume, the widget everywhere', async (t) => {
  const env = await setup(['alice', 'bob']);
  const { server, passwords, apis } = env;
  const dm = await apis.alice.call('POST', '/dms', { user_ids: [apis.bob.user.id] });
  const town = (await apis.alice.call('GET', '/channels')).channels.find((c) => c.name === 'town-square');
  const wav = await speechWav();
  t.after(() => wav.remove());

  // Both talk (loudly) through a WAV played as the microphone.
  const browser = await launchBrowser({ args: [`--use-file-for-fake-audio-capture=${wav.file}`] });
  const [pa, pb] = await Promise.all([newPage(browser), newPage(browser)]);
  await Promise.all([instrument(pa), instrument(pb)]);
  await Promise.all([login(pa, server.url, 'alice', passwords.alice), login(pb, server.url, 'bob', passwords.bob)]);
  await openRoom(pa, dm.id);
  await pa.getByRole('button', { name: 'Start a call' }).click();
  await preflight(pa, 'Call');
  await pb.getByRole('alertdialog', { name: 'alice' }).getByRole('button', { name: 'Accept' }).click();
  await callView(pb).waitFor();
  await callView(pa).waitFor();
  await Promise.all([inboundGrows(pa, 'audio', 'alice hears bob'), inboundGrows(pb, 'audio', 'bob hears alice')]);

  // Whoever talks gets a ring on their tile, at the other end too.
  await tile(pb, apis.alice.user.id).and(pb.locator('.is-speaking')).waitFor({ timeout: 15_000 });
  await tile(pa, apis.bob.user.id).and(pa.locator('.is-speaking')).waitFor({ timeout: 15_000 });

  // Alice mutes with the shortcut and keeps talking: she is told she is muted;
  // bob sees her muted, and her ring goes.
  await pa.keyboard.press('Control+Shift+Space');
  await controls(pa).getByRole('button', { name: 'Unmute', exact: true }).waitFor();
  await callView(pa).getByRole('status').filter({ hasText: 'You are muted. Press Ctrl+Shift+Space to unmute.' }).waitFor({ timeout: 15_000 });
  await tile(pb, apis.alice.user.id).and(pb.locator('.is-muted')).waitFor();
  await tile(pb, apis.alice.user.id).and(pb.locator('.is-speaking')).waitFor({ state: 'detached', timeout: 15_000 });
  await pa.keyboard.press('Control+Shift+Space');
  await controls(pa).getByRole('button', { name: 'Mute', exact: true }).waitFor();

  // Video in a DM: bob turns his camera on, alice sees it; off again, his avatar.
  await controls(pb).getByRole('button', { name: 'Turn camera on' }).click();
  await inboundGrows(pa, 'video', 'alice receives bob\'s camera');
  await tile(pa, apis.bob.user.id).locator('video.tile-video').evaluate((v) => new Promise((resolve) => {
    const check = () => (v.videoWidth > 0 ? resolve() : setTimeout(check, 200));
    check();
  }));
  await controls(pb).getByRole('button', { name: 'Turn camera off' }).click();
  await tile(pa, apis.bob.user.id).and(pa.locator('.has-video')).waitFor({ state: 'detached', timeout: 15_000 });

  // Bob's volume at alice's end: a slider in his tile's menu.
  await tile(pa, apis.bob.user.id).hover();
  await tile(pa, apis.bob.user.id).getByRole('button', { name: 'Options for bob' }).click();
  await pa.getByRole('slider', { name: 'Volume of bob' }).fill('30');
  await pa.waitForFunction((id) => {
    const list = [...document.querySelectorAll(`.call-audio audio[data-user-id="${id}"]`)];
    return list.length > 0 && list.every((a) => Math.abs(a.volume - 0.3) < 0.01);
  }, apis.bob.user.id);
  await pa.keyboard.press('Escape');

  // Device settings during the call: devices, a live input meter, noise
  // suppression and echo cancellation on by default and switchable.
  await controls(pa).getByRole('button', { name: 'More options' }).click();
  await pa.getByRole('menuitem', { name: 'Audio and video settings' }).click();
  const settings = pa.getByRole('dialog', { name: 'Audio and video settings' });
  await settings.waitFor();
  assert.ok(await settings.getByRole('combobox', { name: 'Microphone' }).locator('option').count() >= 2, 'microphones are listed');
  assert.ok(await settings.getByRole('combobox', { name: 'Camera' }).locator('option').count() >= 2, 'cameras are listed');
  await settings.getByRole('combobox', { name: 'Speaker' }).waitFor(); // Chromium has setSinkId
  await pa.waitForFunction(() => Number(document.querySelector('dialog [role="meter"]')?.getAttribute('aria-valuenow')) > 20);
  const noise = settings.getByRole('checkbox', { name: /^Noise suppression/ });
  const echo = settings.getByRole('checkbox', { name: /^Echo cancellation/ });
  assert.ok(await noise.isChecked(), 'noise suppression is on by default');
  assert.ok(await echo.isChecked(), 'echo cancellation is on by default');
  const sent = () => pa.evaluate(() => {
    for (const pc of window.__pcs) {
      if (pc.connectionState === 'closed') continue;
      const track = pc.getSenders().find((s) => s.track?.kind === 'audio')?.track;
      if (track) return { id: track.id, ...track.getSettings() };
    }
    return null;
  });
  const before = await sent();
  assert.equal(before.noiseSuppression, true);
  await noise.uncheck();
  await pa.waitForFunction((id) => window.__pcs.some((pc) => {
    const track = pc.getSenders().find((s) => s.track?.kind === 'audio')?.track;
    return track && track.id !== id && track.getSettings().noiseSuppression === false;
  }), before.id);
  assert.equal(JSON.parse(await pa.evaluate(() => localStorage.getItem('calls.media'))).noiseSuppression, false, 'the choice is remembered');
  await settings.getByText('Ctrl+Shift+Space').waitFor(); // the shortcut is listed
  await pa.keyboard.press('Escape');
  await settings.waitFor({ state: 'detached' });
  await inboundGrows(pb, 'audio', 'bob still hears alice on her new microphone track');

  // The call stays at hand on every screen: in another room, the widget.
  await openRoom(pa, town.id);
  await widget(pa).waitFor();
  await widget(pa).getByText('Call with bob').waitFor();
  await widget(pa).getByRole('button', { name: 'Mute', exact: true }).click();
  await tile(pb, apis.alice.user.id).and(pb.locator('.is-muted')).waitFor();
  // Chat from the widget opens the call's thread (the call message is its root).
  await widget(pa).getByRole('button', { name: 'Chat' }).click();
  await pa.getByRole('log', { name: 'Thread messages' }).locator('.call-card-live').waitFor();
  await widget(pa).getByRole('button', { name: 'Show the call' }).click();
  await callView(pa).waitFor();
  await pa.waitForURL((url) => url.pathname === `/channels/${dm.id}`);

  await leave(pb);
  await leave(pa);
  for (const page of [pa, pb]) assert.deepEqual(page.problems, [], 'no page errors or CSP violations');
});

test('host controls: mute all, ask to unmute, hands, a share, make host, hand-over on leaving, remove, end for everyone', async () => {
  // root is the admin (admins may use host controls anywhere) and stays out of the call.
  const env = await setup(['root', 'alice', 'bob', 'carol']);
  const { server, passwords, apis } = env;
  const room = await privateRoom(env, 'root', 'planning', ['alice', 'bob', 'carol']);
  const id = (u) => apis[u].user.id;

  const browser = await launchBrowser();
  const [pa, pb, pc] = await Promise.all([newPage(browser), newPage(browser), newPage(browser)]);
  await Promise.all([
    login(pa, server.url, 'alice', passwords.alice),
    login(pb, server.url, 'bob', passwords.bob),
    login(pc, server.url, 'carol', passwords.carol),
  ]);
  await Promise.all([openRoom(pa, room.id), openRoom(pb, room.id), openRoom(pc, room.id)]);
  await startCall(pa);
  await startCall(pb, 'Join call');

  // Bob reacts while carol is still in the pre-flight: joining, she sees it float.
  await pc.getByRole('button', { name: 'Join the call' }).click();
  const go = pc.getByRole('dialog').getByRole('button', { name: 'Join call', exact: true });
  await go.and(pc.locator(':enabled')).waitFor();
  await controls(pb).getByRole('button', { name: 'Send a reaction' }).click();
  await pb.getByRole('button', { name: 'React with 👏' }).click();
  await callView(pa).locator('.call-reaction', { hasText: '👏' }).first().waitFor();
  await go.click();
  await callView(pc).getByRole('img', { name: 'bob reacted 👏' }).waitFor();
  for (const page of [pa, pb, pc]) await callView(page).locator('.call-tile').nth(2).waitFor();

  const menuFor = async (page, who) => {
    const t = tile(page, id(who));
    await t.hover();
    await t.getByRole('button', { name: `Options for ${who}` }).click();
    return page.getByRole('menu', { name: `Options for ${who}` });
  };
  const moreMenu = async (page) => {
    await controls(page).getByRole('button', { name: 'More options' }).click();
    return page.getByRole('menu', { name: 'More call options' });
  };

  // Mute everyone: bob and carol are muted, and told.
  await (await moreMenu(pa)).getByRole('menuitem', { name: 'Mute everyone' }).click();
  await Promise.all([pb, pc].map((page) => Promise.all([
    controls(page).getByRole('button', { name: 'Unmute', exact: true }).waitFor(),
    page.getByText('The host muted you. Unmute when you want to speak.').waitFor(),
  ])));
  await controls(pa).getByRole('button', { name: 'Mute', exact: true }).waitFor(); // not the host herself

  // Ask bob to unmute: he is asked, and unmutes from the request.
  await (await menuFor(pa, 'bob')).getByRole('menuitem', { name: 'Ask to unmute' }).click();
  const ask = callView(pb).getByRole('alert').filter({ hasText: 'The host asks you to unmute.' });
  await ask.getByRole('button', { name: 'Unmute' }).click();
  await controls(pb).getByRole('button', { name: 'Mute', exact: true }).waitFor();
  await tile(pa, id('bob')).and(pa.locator('.is-muted')).waitFor({ state: 'detached' });

  // Hands go up in order; the host lowers them, from the list or a tile's menu.
  await controls(pc).getByRole('button', { name: 'Raise hand' }).click();
  await callView(pa).getByRole('complementary', { name: 'Raised hands' }).getByText('carol').waitFor();
  await controls(pb).getByRole('button', { name: 'Raise hand' }).click();
  const hands = callView(pa).getByRole('complementary', { name: 'Raised hands' }).locator('li');
  await hands.nth(1).waitFor();
  assert.deepEqual(await hands.locator('.hands-name').allTextContents(), ['carol', 'bob'], 'hands in the order they went up');
  assert.equal(await tile(pc, id('bob')).locator('.tile-hand').getAttribute('aria-label'), 'Hand raised, 2 in line');
  await hands.filter({ hasText: 'carol' }).getByRole('button', { name: 'Lower' }).click();
  await controls(pc).getByRole('button', { name: 'Raise hand' }).waitFor();
  await (await menuFor(pa, 'bob')).getByRole('menuitem', { name: 'Lower hand' }).click();
  await controls(pb).getByRole('button', { name: 'Raise hand' }).waitFor();
  await callView(pa).getByRole('complementary', { name: 'Raised hands' }).waitFor({ state: 'hidden' });

  // Bob shares his screen; the host stops it.
  await controls(pb).getByRole('button', { name: 'Share screen' }).click();
  await callView(pc).locator('.call-stage[data-layout="presenter"]').waitFor();
  await controls(pa).getByRole('button', { name: 'Share screen' }).click(); // one sharer at a time
  await errorBanner(pa).getByText('bob is sharing their screen. One person can share at a time.').waitFor();
  await (await menuFor(pa, 'bob')).getByRole('menuitem', { name: 'Stop screen share' }).click();
  await pb.getByText('The host stopped your screen share.').waitFor();
  await controls(pb).getByRole('button', { name: 'Share screen' }).waitFor();
  await callView(pc).locator('.call-stage[data-layout="grid"]').waitFor();

  // Alice makes bob the host: he gets the host controls, she loses them.
  await (await menuFor(pa, 'bob')).getByRole('menuitem', { name: 'Make host' }).click();
  await pb.getByText('You are now the host of this call.').waitFor();
  await tile(pc, id('bob')).locator('.tile-host:not([hidden])').waitFor();
  const bobMore = await moreMenu(pb);
  await bobMore.getByRole('menuitem', { name: 'Mute everyone' }).waitFor();
  await pb.keyboard.press('Escape');
  const aliceMore = await moreMenu(pa);
  await aliceMore.getByRole('menuitem', { name: 'Audio and video settings' }).waitFor();
  assert.equal(await aliceMore.getByRole('menuitem', { name: 'Mute everyone' }).count(), 0, 'alice is no longer host');
  await pa.keyboard.press('Escape');

  // Bob leaves: the host passes to whoever has been there longest, alice (not carol).
  await leave(pb);
  await pa.getByText('You are now the host of this call.').waitFor();
  await tile(pc, id('alice')).locator('.tile-host:not([hidden])').waitFor();

  // Alice removes carol, who is told; carol may join again.
  await (await menuFor(pa, 'carol')).getByRole('menuitem', { name: 'Remove from call' }).click();
  await pa.getByRole('dialog', { name: 'Remove from the call?' }).getByRole('button', { name: 'Remove' }).click();
  await errorBanner(pc).getByText('The host removed you from the call.').waitFor();
  await pc.locator('section.call-view').waitFor({ state: 'hidden' });
  await callView(pa).locator('.call-tile').nth(1).waitFor({ state: 'detached' });
  await pc.locator('.room-call-bar.is-live').getByRole('button', { name: 'Join' }).click();
  await preflight(pc, 'Join call');
  await callView(pa).locator('.call-tile').nth(1).waitFor();

  // And ends the call for everyone.
  await (await moreMenu(pa)).getByRole('menuitem', { name: 'End call for everyone' }).click();
  await pa.getByRole('dialog', { name: 'End the call for everyone?' }).getByRole('button', { name: 'End call' }).click();
  await pc.getByText('The call was ended for everyone.').waitFor();
  for (const page of [pa, pc]) await page.locator('section.call-view').waitFor({ state: 'hidden' });
  await roomLog(pb).locator('.call-card-ended').waitFor();

  for (const page of [pa, pb, pc]) assert.deepEqual(page.problems, [], 'no page errors or CSP violations');
});

test('the pop-out window: the call in its own window, chat in the main one; closing it leaves the call', async () => {
  const env = await setup(['alice', 'bob']);
  const { apis } = env;
  const room = await privateRoom(env, 'alice', 'popping', ['bob']);
  const browser = await launchBrowser();
  const [pa, pb] = await pagesInRoom(browser, env, room, ['alice', 'bob'], instrument);
  await startCall(pa);
  await startCall(pb, 'Join call');
  await inboundGrows(pb, 'audio', 'bob hears alice');

  // Alice pops the call out: the new window joins, the main one steps out.
  const [popout] = await Promise.all([
    pa.context().waitForEvent('page'),
    callView(pa).getByRole('button', { name: 'Open in a new window' }).click(),
  ]);
  popout.problems = [];
  popout.on('pageerror', (err) => popout.problems.push(`page error: ${err.message}`));
  const url = new URL(popout.url());
  assert.equal(url.pathname, `/call/${room.id}`);
  assert.equal(url.searchParams.get('popout'), '1');
  await callView(popout).waitFor();
  await controls(popout).getByRole('button', { name: 'Mute', exact: true }).and(popout.locator(':enabled')).waitFor();
  await widget(pa).getByText('The call is open in another window.').waitFor();
  await pa.locator('section.call-view').waitFor({ state: 'hidden' });
  await callView(pb).locator('.call-tile').nth(1).waitFor();
  await pb.waitForFunction(() => document.querySelectorAll('section.call-view:not([hidden]) .call-tile').length === 2);
  await Promise.all([inboundGrows(popout, 'audio', 'the pop-out hears bob'), inboundGrows(pb, 'audio', 'bob hears the pop-out')]);

  // The main window keeps the chat.
  const box = pa.getByRole('textbox', { name: /^Write to/ });
  await box.fill('Chatting while the call runs in its own window');
  await box.press('Enter');
  await roomLog(pb).locator('article.post', { hasText: 'Chatting while the call runs in its own window' }).waitFor();
  // The pop-out's chat button opens the call's thread in the main window.
  await controls(popout).getByRole('button', { name: 'Chat' }).click();
  await pa.getByRole('log', { name: 'Thread messages' }).locator('.call-card-live').waitFor();

  // Closing the pop-out leaves the call.
  await popout.close();
  await pb.waitForFunction(() => document.querySelectorAll('section.call-view:not([hidden]) .call-tile').length === 1);
  await tile(pb, apis.alice.user.id).waitFor({ state: 'detached' });
  await pa.locator('.call-widget').waitFor({ state: 'hidden' });
  await pa.getByRole('button', { name: 'Join the call' }).waitFor();

  for (const page of [pa, pb, popout]) assert.deepEqual(page.problems, [], 'no page errors or CSP violations');
});
