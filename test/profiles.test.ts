import t from 'tap'
import { startNode } from './helpers/in-process.js'
import { login, newUsername, register, request, sessionCookieOf } from './helpers/http-client.js'

const ADMIN = { username: 'profile-admin', password: 'bootstrap password' }
const node = await startNode(t, 'profiles', { SESSION_CACHE_MS: '0', ADMIN_USERNAME: ADMIN.username, ADMIN_PASSWORD: ADMIN.password })
const url = node.url
const admin = await login(url, ADMIN.username, ADMIN.password)

let emails = 0
/** An email no other test has used. */
const newEmail = () => `Person.${process.pid}.${++emails}@Example.org`

const me = (cookie: string) => request(url, 'GET', '/api/me', { cookie })
const patchMe = (cookie: string, body: unknown) => request(url, 'PATCH', '/api/me', { cookie, body })
const registerWith = (fields: Record<string, unknown>) => request(url, 'POST', '/auth/register', { body: { username: newUsername('prof'), ...fields } })

t.test('a profile is given at registration and read back by its user', async (t) => {
  const email = newEmail()
  const res = await registerWith({ password: 'correct horse battery', firstName: 'Ada', lastName: 'Lovelace', email, phone: '+447700900123' })
  t.equal(res.status, 201)
  const cookie = sessionCookieOf(res) as string
  t.match((await me(cookie)).body, { firstName: 'Ada', lastName: 'Lovelace', email, phone: '+447700900123', displayName: null, role: 'user' })

  const bare = await register(url)
  t.match((await me(bare.cookie)).body, { firstName: null, lastName: null, email: null, phone: null }, 'every field is optional')

  const sneaky = await registerWith({ role: 'admin', email: newEmail() })
  t.equal(sneaky.status, 201)
  t.equal((await me(sessionCookieOf(sneaky) as string)).body.role, 'user', 'registration sets no role, whatever the body says')
})

t.test('PATCH /api/me sets and clears each field, alone or together', async (t) => {
  const user = await register(url)
  const email = newEmail()
  t.match((await patchMe(user.cookie, { firstName: 'Grace', email })).body, { firstName: 'Grace', lastName: null, email, phone: null })
  t.match((await patchMe(user.cookie, { lastName: 'Hopper', phone: '+12025550123', displayName: 'Amazing Grace' })).body, {
    firstName: 'Grace',
    lastName: 'Hopper',
    email,
    phone: '+12025550123',
    displayName: 'Amazing Grace',
  })
  t.equal((await patchMe(user.cookie, { email: email.toUpperCase() })).status, 200, 'one’s own email again, in another case')
  t.match((await patchMe(user.cookie, { firstName: null, email: null, phone: null })).body, { firstName: null, lastName: 'Hopper', email: null, phone: null })
  t.equal((await me(user.cookie)).status, 200, 'a profile change ends no session')

  for (const body of [{}, { nickname: 'x' }, { firstName: 5 }, { firstName: '' }, { firstName: '   ' }, { lastName: 'x'.repeat(65) }, { firstName: 'a\u0000b' }]) {
    const res = await patchMe(user.cookie, body)
    t.equal(res.status, 400, JSON.stringify(body))
    t.type(res.body.message, 'string')
  }
  t.equal((await request(url, 'PATCH', '/api/me', { body: { firstName: 'x' } })).status, 401, 'without a credential')
})

t.test('emails and phones are validated', async (t) => {
  const user = await register(url)
  const badEmails = [
    'plain',
    '@example.org',
    'a@',
    'a@b',
    'a@localhost',
    'a b@example.org',
    'a@exa mple.org',
    '.a@example.org',
    'a.@example.org',
    'a..b@example.org',
    'a@-example.org',
    'a@example-.org',
    'a@example..org',
    'a@example.o',
    'a@example.123',
    'a@[127.0.0.1]',
    '"quoted"@example.org',
    'ümlaut@example.org',
    'a@b@example.org',
    'a@example.org\n',
    'a\u0000@example.org',
    `${'a'.repeat(65)}@example.org`,
    `a@${'b'.repeat(64)}.org`,
    `a@${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(60)}.${'f'.repeat(60)}.org`,
    '',
    7,
  ]
  for (const email of badEmails) {
    const res = await patchMe(user.cookie, { email })
    t.equal(res.status, 400, `email ${JSON.stringify(email)}`)
    t.equal(res.body.status, 'invalid request')
    t.match(res.body.message, /email/, 'the message names the field')
    t.equal((await registerWith({ email })).status, 400, `registering with ${JSON.stringify(email)}`)
  }
  const goodEmails = [`${'a'.repeat(64)}@example.org`, "o'brien+tag/x=y@mail.example.co.uk", 'x@x-y.example', `a@${'b'.repeat(63)}.org`]
  for (const email of goodEmails) {
    const res = await patchMe(user.cookie, { email })
    t.equal(res.status, 200, `email ${email}`)
    t.equal(res.body.email, email, 'kept as given')
  }

  const badPhones = ['12025550123', '+0123456789', '+1234567', '+1234567890123456', '+1 202 555 0123', '+1-202-555-0123', '+１２３４５６７８９', '+12025550123x1', '', 12025550123]
  for (const phone of badPhones) {
    t.equal((await patchMe(user.cookie, { phone })).status, 400, `phone ${JSON.stringify(phone)}`)
  }
  for (const phone of ['+12345678', '+123456789012345']) t.equal((await patchMe(user.cookie, { phone })).body.phone, phone, `phone ${phone}`)
})

t.test('an email belongs to one account, in any letter case', async (t) => {
  const email = newEmail()
  const first = await registerWith({ email })
  t.equal(first.status, 201)
  for (const taken of [email, email.toLowerCase(), email.toUpperCase()]) {
    const res = await registerWith({ email: taken })
    t.same([res.status, res.body], [409, { status: 'email taken' }], `registering with ${taken}`)
    t.notOk(sessionCookieOf(res), 'no session for a refused registration')
  }
  const other = await register(url)
  t.same((await patchMe(other.cookie, { email: email.toLowerCase() })).body, { status: 'email taken' })
  t.equal((await me(other.cookie)).body.email, null, 'nothing changed')

  // A name clash wins over an email clash: the name is checked first.
  const named = await register(url)
  t.same((await request(url, 'POST', '/auth/register', { body: { username: named.username, email } })).body, { status: 'username taken' })
})

t.test('registrations racing for one email: exactly one wins', async (t) => {
  const email = newEmail()
  const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => registerWith({ email: i % 2 ? email : email.toLowerCase() })))
  t.same(
    answers.map((a) => a.status).sort(),
    [201, 409, 409, 409, 409, 409, 409, 409],
    'one account, and 409 for the rest',
  )
  t.ok(answers.filter((a) => a.status === 409).every((a) => a.body.status === 'email taken'))

  const racers = await Promise.all([register(url), register(url), register(url)])
  const other = newEmail()
  const patches = await Promise.all(racers.map((r) => patchMe(r.cookie, { email: other })))
  t.same(patches.map((p) => p.status).sort(), [200, 409, 409], 'the same through PATCH /api/me')
})

t.test('GET /api/users/:username: names to anyone signed in, never email or phone', async (t) => {
  const email = newEmail()
  const owner = await registerWith({ firstName: 'Katherine', lastName: 'Johnson', email, phone: '+12025550199' })
  const self = (await me(sessionCookieOf(owner) as string)).body
  await patchMe(sessionCookieOf(owner) as string, { displayName: 'KJ' })
  const viewer = await register(url)

  const seen = await request(url, 'GET', `/api/users/${self.username.toUpperCase()}`, { cookie: viewer.cookie })
  t.equal(seen.status, 200, 'the name in any letter case')
  t.same(seen.body, { username: self.username, displayName: 'KJ', firstName: 'Katherine', lastName: 'Johnson' }, 'exactly the public fields')
  const own = await request(url, 'GET', `/api/users/${self.username}`, { cookie: sessionCookieOf(owner) as string })
  t.notOk('email' in own.body || 'phone' in own.body, 'not even to the user: their own are at /api/me')
  const asAdmin = await request(url, 'GET', `/api/users/${self.username}`, { cookie: admin })
  t.notOk('email' in asAdmin.body, 'admins read them at /admin/users')

  t.equal((await request(url, 'GET', `/api/users/${self.username}`)).status, 401, 'without a credential')
  t.same((await request(url, 'GET', '/api/users/nobody-by-this-name', { cookie: viewer.cookie })).body, { status: 'not found' })
  t.equal((await request(url, 'GET', `/api/users/${'x'.repeat(65)}`, { cookie: viewer.cookie })).status, 400, 'a name no one can have')
})

t.test('admins see and set email and phone; a profile change ends no session', async (t) => {
  const email = newEmail()
  const user = await registerWith({ email, phone: '+33612345678' })
  const cookie = sessionCookieOf(user) as string
  const { id } = (await me(cookie)).body
  t.match((await request(url, 'GET', `/admin/users/${id}`, { cookie: admin })).body, { email, phone: '+33612345678' })
  const page = await request(url, 'GET', `/admin/users?after=${id - 1}&limit=1`, { cookie: admin })
  t.match(page.body.users[0], { id, email, phone: '+33612345678' }, 'and in the list')

  const changed = await request(url, 'PATCH', `/admin/users/${id}`, { cookie: admin, body: { firstName: 'Set', phone: null } })
  t.match(changed.body, { firstName: 'Set', phone: null, email })
  t.equal((await me(cookie)).status, 200, 'the user is still signed in')
  const clash = await registerWith({ email: newEmail() })
  const clashId = (await me(sessionCookieOf(clash) as string)).body.id
  t.same((await request(url, 'PATCH', `/admin/users/${clashId}`, { cookie: admin, body: { email } })).body, { status: 'email taken' })
  t.equal((await request(url, 'PATCH', `/admin/users/${clashId}`, { cookie: admin, body: { phone: '555' } })).status, 400)

  const made = await request(url, 'POST', '/admin/users', { cookie: admin, body: { username: newUsername('made'), email: newEmail(), lastName: 'Made' } })
  t.equal(made.status, 201)
  t.match(made.body, { lastName: 'Made', email: /@Example\.org$/ })
  t.same((await request(url, 'POST', '/admin/users', { cookie: admin, body: { username: newUsername('made'), email } })).body, { status: 'email taken' })
})

t.test('a disabled user keeps a public profile; a deleted one has none, and frees their email', async (t) => {
  const email = newEmail()
  const user = await registerWith({ firstName: 'Dis', email })
  const cookie = sessionCookieOf(user) as string
  const { id, username } = (await me(cookie)).body
  const viewer = await register(url)
  await request(url, 'PATCH', `/admin/users/${id}`, { cookie: admin, body: { disabled: true } })
  t.same((await request(url, 'GET', `/api/users/${username}`, { cookie: viewer.cookie })).body, { username, displayName: null, firstName: 'Dis', lastName: null })

  t.equal((await request(url, 'DELETE', `/admin/users/${id}`, { cookie: admin })).status, 200)
  t.equal((await request(url, 'GET', `/api/users/${username}`, { cookie: viewer.cookie })).status, 404, 'the freed name names nobody')
  t.equal((await request(url, 'GET', `/api/users/${encodeURIComponent(`[deleted-${id}]`)}`, { cookie: viewer.cookie })).status, 404, 'nor does the placeholder')
  t.equal((await registerWith({ email })).status, 201, 'the email is free again')
})
