import t from 'tap'
import { newUsername } from './helpers/http-client.js'
import { startNode } from './helpers/in-process.js'
import { builtWebClient } from './helpers/web-build.js'
import { shows, webDevices } from './helpers/web-devices.js'

/**
 * The web client's invite links and profile form in Debian's Chromium: an owner makes a link on one
 * node, a person who is not signed in opens it on another, registers, sees what it is to and joins.
 */

t.setTimeout(3 * 60_000)
await builtWebClient()
const first = await startNode(t, 'web_invites')
const second = await startNode(t, 'web_invites_b', { DATABASE_URL: first.config.databaseUrl, REDIS_PREFIX: first.config.redisPrefix })
const device = await webDevices(t)

t.test('an owner makes an invite link; someone signed out opens it, registers and joins', async (t) => {
  const owner = await device(first.url)
  await owner.ui.register(newUsername('owner'))
  await owner.ui.createConversation('Secret plans', 'private')
  const inviteButton = owner.page.getByRole('button', { name: 'Invite link' })
  await inviteButton.click()
  const linkField = owner.page.getByRole('textbox', { name: 'Invite link' })
  await shows(t, linkField, 'the link is shown')
  const link = await linkField.inputValue()
  t.match(link, new RegExp(`^${first.url}/#/invite/[A-Za-z0-9_-]{43}$`), 'a link to the web client')
  await owner.ui.send('before the guest came')

  const guestLink = link.replace(first.url, second.url)
  const guest = await device(guestLink)
  const notice = guest.page.getByText(/You are invited to join “Secret plans” \(1 member\)/)
  await shows(t, notice, 'signed out, the guest sees what the invite is to')
  const guestName = newUsername('guest')
  await guest.ui.register(guestName)
  const card = guest.page.getByRole('region', { name: 'You are invited' })
  await shows(t, card.getByText('“Secret plans”, 1 member.'), 'signed in: the title and member count')
  await card.getByRole('button', { name: 'Join' }).click()
  await shows(t, guest.ui.heading('Secret plans'), 'the conversation opens')
  await shows(t, guest.ui.message('before the guest came'), 'with its history')
  await shows(t, card, 'the card is gone', 'hidden')
  t.equal(new URL(guest.page.url()).hash, '', 'the address no longer holds the invite')
  await shows(t, guest.ui.entry('Secret plans'), 'it is in the inbox')
  await guest.ui.send('hello from the guest')
  await shows(t, owner.ui.message('hello from the guest'), 'the owner reads the guest')

  const stranger = await device(`${second.url}/#/invite/${'A'.repeat(43)}`)
  await shows(t, stranger.page.getByText(/This invite link cannot be used: it does not exist, or was revoked/), 'an unknown link says so')
  t.same([...owner.problems, ...guest.problems, ...stranger.problems], [], 'no uncaught error and no CSP violation')
})

t.test('the profile form sets names, email and phone, and says what is wrong', async (t) => {
  const me = await device(first.url)
  const name = newUsername('prof')
  await me.ui.register(name)
  const form = await me.ui.panel('Your profile')
  await form.getByLabel('First name').fill('Ada')
  await form.getByLabel('Last name').fill('Lovelace')
  await form.getByLabel('Email').fill('not an email')
  await form.getByRole('button', { name: 'Save profile' }).click()
  await shows(t, me.ui.alert(/email/), 'a bad email is refused, naming the field')
  await form.getByLabel('Email').fill(`${name}@example.org`)
  await form.getByLabel('Phone').fill('+447700900123')
  await form.getByRole('button', { name: 'Save profile' }).click()
  await shows(t, me.page.getByRole('status').filter({ hasText: 'Profile saved.' }), 'saved')
  const profile = await (await me.page.request.get(`${first.url}/api/me`)).json()
  t.match(profile, { firstName: 'Ada', lastName: 'Lovelace', email: `${name}@example.org`, phone: '+447700900123' })

  // Until the profile has come, the form cannot be saved: it would clear every field it holds. The
  // page reads /api/me twice: at boot, to learn whether it is signed in, then for the form. The
  // second answer is held.
  let answerProfile = () => {}
  const profileHeld = new Promise<void>((resolve) => (answerProfile = resolve))
  let reads = 0
  await me.page.route('**/api/me', async (route) => {
    if (++reads === 2) await profileHeld
    await route.continue()
  })
  await me.page.reload()
  const again = await me.ui.panel('Your profile')
  await shows(t, again.locator('button[disabled]', { hasText: 'Save profile' }), 'Save is disabled while the profile loads')
  answerProfile()
  await shows(t, again.locator('button:not([disabled])', { hasText: 'Save profile' }), 'and enabled once it has come')
  t.equal(await again.getByLabel('First name').inputValue(), 'Ada', 'the form shows the profile after a reload')
  t.same(me.problems, [])
})
