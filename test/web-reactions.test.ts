import t from 'tap'
import { startCluster } from './helpers/cluster.js'
import { newUsername } from './helpers/http-client.js'
import { builtWebClient } from './helpers/web-build.js'
import { type WebDevice, shows, webDevices } from './helpers/web-devices.js'

/**
 * Reactions in the web client, in Debian's Chromium, with two people on two nodes: the picker, the
 * chips with their counts, a click that adds or takes back one's own, and what a reload shows.
 */

const PASSWORD = 'correct horse battery'
t.setTimeout(3 * 60_000)
await builtWebClient()
const nodes = await startCluster(t, 'web-reactions', 2)
const device = await webDevices(t)

t.test('react from the picker, toggle with the chips: counts and your own on both pages', async (t) => {
  const alice = newUsername('alice')
  const bob = newUsername('bob')
  const [a, b] = (await Promise.all(nodes.map((node) => device(node.url)))) as [WebDevice, WebDevice]
  await a.ui.register(alice, PASSWORD)
  await b.ui.register(bob)
  await a.ui.startDirect(bob)
  await a.ui.heading(bob).waitFor()
  await a.ui.send('react to this')
  await b.ui.open(alice)
  const onA = a.ui.message('react to this')
  const onB = b.ui.message('react to this')
  await onB.waitFor()

  await onB.locator('summary').click()
  await onB.getByRole('button', { name: 'React with 🎉' }).click()
  await shows(t, onB.getByRole('button', { name: '🎉 1, yours: take it back', pressed: true }), "bob's chip: his")
  await shows(t, onA.getByRole('button', { name: '🎉 1: react so too', pressed: false }), "on alice's page, on the other node: not hers")

  await onA.getByRole('button', { name: /^🎉 1/ }).click()
  await shows(t, onA.getByRole('button', { name: '🎉 2, yours: take it back', pressed: true }), 'alice clicks it: two, hers too')
  await shows(t, onB.getByRole('button', { name: '🎉 2, yours: take it back' }), 'and on bob\'s page')

  await onB.locator('summary').click()
  await onB.getByRole('button', { name: 'React with 🎉' }).click()
  await onB.locator('summary').click()
  await onB.getByRole('button', { name: 'React with ❤️' }).click()
  await shows(t, onA.getByRole('button', { name: '❤️ 1: react so too' }), 'a second emoji, after the first')
  t.same(await onA.locator('button.reaction').allTextContents(), ['🎉 2', '❤️ 1'], 'picking one already his changed nothing')

  await onB.getByRole('button', { name: /^🎉 2/ }).click()
  await shows(t, onA.getByRole('button', { name: '🎉 1, yours: take it back' }), 'bob takes his back')
  await shows(t, onB.getByRole('button', { name: '🎉 1: react so too', pressed: false }), 'his chip is no longer pressed')
  await onA.getByRole('button', { name: /^🎉 1/ }).click()
  await shows(t, onB.getByRole('button', { name: /^🎉/ }), 'the last one taken back: the chip goes', 'hidden')

  await a.page.reload()
  await a.ui.signedIn(alice)
  await a.ui.open(bob)
  await shows(t, a.ui.message('react to this').getByRole('button', { name: '❤️ 1: react so too' }), 'after a reload, from the page read')
  t.same([...a.problems, ...b.problems], [], 'no uncaught error and no CSP violation')
})
