// Recording a call from the browser: the host starts it from the call
// widget, everyone in the call (and whoever joins meanwhile) sees that it
// records, the host stops it, and the WebM the server made is posted in
// the call's thread, where the browser's own player loads it. Someone who
// is not the host gets no recording control at all.
import assert from 'node:assert/strict';
import { test, launchBrowser, screenshot } from '../lib/harness.mjs';
import {
  callView, controls, widget, instrument, inboundGrows, startCall, leave, setup, privateRoom, pagesInRoom,
} from '../lib/calls.mjs';

test('the host records a call; the file appears in the call thread and plays', async () => {
  // bob is a member, not an admin: admins may record any call.
  const env = await setup(['alice', 'bob']);
  const { apis } = env;
  const room = await privateRoom(env, 'alice', 'review', ['bob']);

  const browser = await launchBrowser();
  const [pa, pb] = await pagesInRoom(browser, env, room, ['alice', 'bob'], instrument);
  await startCall(pa);
  await startCall(pb, 'Join call');
  await Promise.all([inboundGrows(pa, 'audio', 'alice hears bob'), inboundGrows(pb, 'audio', 'bob hears alice')]);

  // Bob is not the host: his menu has no host controls and no recording.
  await controls(pb).getByRole('button', { name: 'More options' }).click();
  const bobMenu = pb.getByRole('menu', { name: 'More call options' });
  await bobMenu.getByRole('menuitem', { name: 'Audio and video settings' }).waitFor();
  assert.equal(await bobMenu.getByRole('menuitem', { name: /recording/i }).count(), 0, 'bob has no recording control');
  assert.equal(await bobMenu.getByText('Host controls').count(), 0, 'bob has no host controls');
  await pb.keyboard.press('Escape');
  await bobMenu.waitFor({ state: 'detached' });

  // Alice shares her screen, so the recording has a picture, then goes
  // back to the chat and starts recording from the call widget.
  await controls(pa).getByRole('button', { name: 'Share screen' }).click();
  await controls(pa).getByRole('button', { name: 'Stop sharing' }).waitFor();
  await inboundGrows(pb, 'video', 'bob receives alice\'s screen');
  await callView(pa).getByRole('button', { name: 'Minimize the call' }).click();
  await widget(pa).waitFor();
  await widget(pa).getByRole('button', { name: 'More options' }).click();
  await pa.getByRole('menu', { name: 'More call options' }).getByRole('menuitem', { name: 'Start recording' }).click();

  // Everyone in the call is told and sees the indicator.
  await widget(pa).locator('.call-rec:not([hidden])').waitFor();
  await callView(pb).getByRole('status').filter({ hasText: 'REC' }).waitFor();
  await pb.getByText('alice started recording this call.').waitFor();
  const startedAt = Date.now();

  // Bob leaves and comes back while it records: joining, he sees it records.
  await pa.waitForTimeout(1500);
  await leave(pb);
  await startCall(pb, 'Join call');
  await callView(pb).getByRole('status').filter({ hasText: 'REC' }).waitFor();

  // A few seconds more of talk and screen, then the host stops it from the call view.
  await pa.waitForTimeout(2500);
  await widget(pa).getByRole('button', { name: 'Show the call' }).click();
  await callView(pa).waitFor();
  await controls(pa).getByRole('button', { name: 'More options' }).click();
  await pa.getByRole('menu', { name: 'More call options' }).getByRole('menuitem', { name: 'Stop recording' }).click();
  const recordedMs = Date.now() - startedAt;
  await callView(pb).locator('.call-rec').waitFor({ state: 'hidden' });
  await pb.getByText(/The recording stopped/).waitFor();

  // Bob opens the call's chat from his call controls: the thread of the
  // call message, where the recording arrives as an attachment.
  await controls(pb).getByRole('button', { name: 'Chat' }).click();
  const thread = pb.getByRole('log', { name: 'Thread messages' });
  const post = thread.locator('article.post').filter({ hasText: /^Recording/ }).or(thread.locator('article.post', { has: pb.locator('.file-player') }));
  await post.first().waitFor({ timeout: 20_000 });
  const player = post.first().locator('video.file-player');
  await player.waitFor();
  const card = post.first().locator('.file-card');
  assert.match(await card.locator('.file-name').textContent(), /^Recording Review \d{4}-\d\d-\d\d \d\d-\d\d\.webm$/);
  assert.match(await card.locator('.file-size').textContent(), /WEBM/);

  // The browser's own player reads the file: metadata, duration, picture size.
  await player.evaluate((v) => new Promise((resolve, reject) => {
    if (v.readyState >= 1) return resolve();
    v.addEventListener('loadedmetadata', resolve, { once: true });
    v.addEventListener('error', () => reject(new Error(`media error ${v.error?.code}: ${v.error?.message}`)), { once: true });
    setTimeout(() => reject(new Error(`no metadata; readyState ${v.readyState}, networkState ${v.networkState}`)), 15_000);
  }));
  const info = await player.evaluate((v) => ({ readyState: v.readyState, duration: v.duration, width: v.videoWidth, height: v.videoHeight }));
  assert.ok(info.readyState >= 1, `metadata loaded: ${JSON.stringify(info)}`);
  assert.ok(Number.isFinite(info.duration) && info.duration > 1, `a finite duration: ${JSON.stringify(info)}`);
  assert.ok(info.duration < recordedMs / 1000 + 5, `no longer than what was recorded (${recordedMs} ms): ${JSON.stringify(info)}`);
  assert.ok(info.width > 0 && info.height > 0, `the shared screen is in it: ${JSON.stringify(info)}`);
  await screenshot(pb, 'recording-in-thread');

  // Through the API too, the recording is a reply to the call message.
  const rootId = await thread.locator('article.post').first().getAttribute('data-post-id');
  const { root, posts } = await apis.bob.call('GET', `/posts/${rootId}/thread`);
  assert.equal(root.type, 'call', 'the thread is the call message\'s');
  const rec = posts.find((p) => p.type === 'call_recording');
  assert.ok(rec, 'a call_recording reply');
  assert.equal(rec.files?.[0]?.content_type, 'video/webm');

  await leave(pb);
  await leave(pa);
  for (const page of [pa, pb]) assert.deepEqual(page.problems, [], 'no page errors or CSP violations');
});
