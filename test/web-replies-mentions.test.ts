import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { startCluster } from './helpers/cluster.js'
import { newUsername, register, request } from './helpers/http-client.js'
import { builtWebClient } from './helpers/web-build.js'
import { shows, webDevices } from './helpers/web-devices.js'

/**
 * Replies and mentions in the web client, in Debian's Chromium against three real nodes: the inbox's
 * mention badge, the highlighted mention, the reply button with its quote above the composer, the
 * quote in the message, and a quote that shows its original deleted.
 */

const PASSWORD = 'correct horse battery'
t.setTimeout(5 * 60_000)
await builtWebClient()
const nodes = await startCluster(t, 'web-replies', 3)
const [a, b, c] = nodes.map((n) => n.url) as [string, string, string]
const device = await webDevices(t)

t.test('a mention badge, a highlighted mention, a reply with its quote, and a deleted original', async (t) => {
  const ann = await register(c, newUsername('ann'), PASSWORD)
  const ben = await register(c, newUsername('ben'), PASSWORD)
  const created = await request(c, 'POST', '/api/conversations', { cookie: ann.cookie, body: { title: 'threads', kind: 'private', members: [ben.username] } })
  const id = Number(created.body.url.split('/').pop())
  const [annPage, benPage] = await Promise.all([device(a), device(b)])
  await annPage.ui.signIn(ann.username, PASSWORD)
  await benPage.ui.signIn(ben.username, PASSWORD)
  await shows(t, benPage.ui.entry('threads'), 'the conversation is in the inbox')

  const original = 'Who reviews the release notes? @' + ben.username + ', could you?'
  t.equal((await request(c, 'POST', `/api/conversations/${id}`, { cookie: ann.cookie, body: { text: original } })).status, 201)
  const badge = benPage.ui.entry('threads').locator('.mention-badge')
  await shows(t, badge.filter({ hasText: '@1' }), 'the inbox shows a mention badge')
  await shows(t, benPage.ui.inbox.getByRole('button', { name: /^threads .*@1 mention\b/ }), 'read out as a mention')

  await benPage.ui.open('threads')
  const message = benPage.ui.message(original)
  await shows(t, message.locator('.mention.me').filter({ hasText: `@${ben.username}` }), 'the mention of the reader stands out')
  await shows(t, badge, 'reading the message clears the badge', 'hidden')

  await message.getByRole('button', { name: new RegExp(`^Reply to ${ann.username}`) }).click()
  const target = benPage.ui.composer.locator('#reply-target')
  await shows(t, target.getByText(original), 'the quote of the message replied to is above the composer')
  await benPage.ui.send('Yes, I will.')
  await shows(t, target, 'and goes once the reply is sent', 'hidden')
  for (const page of [benPage, annPage]) {
    if (page === annPage) await annPage.ui.open('threads')
    const reply = page.ui.message('Yes, I will.')
    await shows(t, reply.locator('blockquote.quote').filter({ hasText: ann.username }).filter({ hasText: original }), 'the reply quotes the original, on both pages')
  }
  await benPage.page.screenshot({ path: join(tmpdir(), `web-replies-${process.pid}.png`) })

  const second = benPage.ui.message('Yes, I will.')
  await second.getByRole('button', { name: /^Reply to/ }).click()
  await shows(t, target, 'a reply started')
  await target.getByRole('button', { name: 'Cancel the reply' }).click()
  await shows(t, target, 'and cancelled', 'hidden')
  await benPage.ui.send('Not a reply')
  await shows(t, benPage.ui.message('Not a reply'), 'a message sent after a cancelled reply')
  t.equal(await benPage.ui.message('Not a reply').locator('blockquote').count(), 0, 'quotes nothing')

  t.equal((await request(c, 'DELETE', `/api/conversations/${id}/2`, { cookie: ann.cookie })).status, 200)
  for (const page of [annPage, benPage])
    await shows(t, page.ui.message('Yes, I will.').locator('blockquote.quote.deleted').filter({ hasText: 'Deleted message' }), 'a live page shows the original deleted')
  const reloaded = await device(c)
  await reloaded.ui.signIn(ben.username, PASSWORD)
  await reloaded.ui.open('threads')
  await shows(t, reloaded.ui.message('Yes, I will.').locator('blockquote.quote.deleted'), 'and so does a page opened later')
  t.same([annPage, benPage, reloaded].flatMap((d) => d.problems), [], 'no uncaught error and no CSP violation on any page')
})
