import t from 'tap'
import { launchChromium, openDevice } from './helpers/browser.js'
import { newUsername, postMessage, register, request } from './helpers/http-client.js'
import { startNode } from './helpers/in-process.js'
import { builtWebClient } from './helpers/web-build.js'
import { WebClient } from './helpers/web-ui.js'

t.setTimeout(3 * 60_000)
await builtWebClient()
const { url } = await startNode(t, 'web_search', { RATE_LIMIT_MESSAGES: 'off' })
const browser = await launchChromium(t)

t.test('the search panel shows matches marked, as text, and opens the conversation at the message', async (t) => {
  const password = 'correct horse battery'
  const alice = await register(url, newUsername('alice'), password)
  const created = await request(url, 'POST', '/api/conversations', { cookie: alice.cookie, body: { title: 'Kitchen' } })
  const conversationId = Number(created.body.url.split('/').pop())
  const target = 'The <img src=x onerror=alert(1)> kettle is broken'
  t.equal((await postMessage(url, alice.cookie, conversationId, target)).status, 201)
  // Enough later messages that the match is not on the first page the conversation opens with.
  for (let i = 0; i < 60; i++) t.equal((await postMessage(url, alice.cookie, conversationId, `filler ${i}`)).status, 201)

  const device = await openDevice(browser, url)
  t.teardown(() => device.page.context().close())
  const ui = new WebClient(device.page)
  await ui.signIn(alice.username, password)
  const panel = device.page.getByRole('search', { name: 'Search messages' })
  await panel.getByLabel('Words, or "a phrase"').fill('kettles')
  await panel.getByRole('button', { name: 'Search' }).click()
  const results = device.page.getByRole('list', { name: 'Search results' })
  const result = results.getByRole('listitem')
  await result.first().waitFor()
  t.equal(await result.count(), 1, 'one match')
  t.equal(await result.locator('.search-text').textContent(), target, 'the text as written: markup in it is text')
  t.same(await result.locator('mark').allTextContents(), ['kettle'], 'the match is marked')
  t.equal(await device.page.locator('.search-results img').count(), 0, 'no element came from the text')

  await result.getByRole('button', { name: /^Open Kitchen at/ }).click()
  await ui.heading('Kitchen').waitFor()
  const found = ui.history.locator('.found')
  await found.waitFor()
  t.match(await found.textContent(), /kettle is broken/, 'the conversation opens at the message, older pages read as needed')
  t.ok(await found.isVisible(), 'and shows it')

  await panel.getByLabel('Words, or "a phrase"').fill('   ')
  await panel.getByRole('button', { name: 'Search' }).click()
  await ui.alert('Enter something to search for.').waitFor()
  await panel.getByLabel('Words, or "a phrase"').fill('nothing-like-this')
  await panel.getByRole('button', { name: 'Search' }).click()
  await device.page.getByText('Nothing found.').waitFor()
  t.same(device.problems, [], 'no errors in the page')
})
