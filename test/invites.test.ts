import { createHash, randomBytes } from 'node:crypto'
import t from 'tap'
import { startCluster } from './helpers/cluster.js'
import { newUsername, register, request } from './helpers/http-client.js'
import { startNode } from './helpers/in-process.js'
import { queryRows } from './helpers/sql.js'
import { TestSocket } from './helpers/ws-client.js'

const nodes = await startCluster(t, 'invites', 3)
const [a, b, c] = nodes.map((n) => n.url) as [string, string, string]

async function conversation(ownerCookie: string, kind: 'open' | 'private' | 'public', title = 'the team'): Promise<{ id: number; url: string }> {
  const res = await request(a, 'POST', '/api/conversations', { cookie: ownerCookie, body: { title, kind } })
  if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`)
  return { id: Number(res.body.url.split('/').pop()), url: res.body.url }
}

async function invite(node: string, cookie: string, conversationUrl: string, body: object = {}): Promise<{ token: string; url: string; id: number }> {
  const res = await request(node, 'POST', `${conversationUrl}/invites`, { cookie, body })
  if (res.status !== 201) throw new Error(`invite: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body
}

const sql = (text: string, values: unknown[] = []): Promise<any[]> => queryRows(nodes.databaseUrl, text, values)

async function socket(url: string, cookie: string): Promise<TestSocket> {
  const s = await TestSocket.connect(url, cookie)
  t.teardown(() => s.close())
  return s
}

t.test('an invite: an unguessable token, shown once, stored only as a hash', async (t) => {
  const owner = await register(a)
  const room = await conversation(owner.cookie, 'private')
  const res = await request(b, 'POST', `${room.url}/invites`, { cookie: owner.cookie, body: { expiresInSeconds: 3600, maxUses: 5 } })
  t.equal(res.status, 201)
  const { token, url, id } = res.body
  t.match(token, /^[A-Za-z0-9_-]{43}$/)
  t.equal(Buffer.from(token, 'base64url').length, 32, '256 random bits')
  t.equal(url, `/api/invites/${token}`)
  t.equal(res.headers.get('location'), url)
  t.match(res.body, { maxUses: 5, uses: 0, expiresAt: String })
  t.ok(Math.abs(Date.parse(res.body.expiresAt) - Date.now() - 3600_000) < 60_000, 'expires in an hour')

  const rows = await sql('SELECT * FROM invites WHERE id = $1', [id])
  t.same(rows[0].token_hash, createHash('sha256').update(token).digest(), 'its SHA-256 hash is stored')
  t.notOk(JSON.stringify(rows).includes(token), 'and not the token')
  const listed = await request(c, 'GET', `${room.url}/invites`, { cookie: owner.cookie })
  t.same(listed.body.invites.map((i: any) => Object.keys(i).sort()), [['createdAt', 'expiresAt', 'id', 'maxUses', 'uses']], 'the list never shows a token')

  const preview = await request(c, 'GET', url)
  t.same([preview.status, preview.body], [200, { title: 'the team', members: 1 }], 'without login: the title and member count only')
})

t.test('joining on node B: the owner on node C sees the member, the joiner’s other device on node A gets the conversation', async (t) => {
  const owner = await register(a, newUsername('owner'))
  const joiner = await register(b, newUsername('joiner'))
  const room = await conversation(owner.cookie, 'private')
  const { url } = await invite(a, owner.cookie, room.url)
  t.equal((await request(b, 'GET', room.url, { cookie: joiner.cookie })).status, 404, 'a private conversation is hidden before')

  const ownerWatch = await socket(c, owner.cookie)
  t.match(await ownerWatch.call({ type: 'subscribe', id: 's', conversationId: room.id, afterSeq: 0 }), { type: 'subscribed' })
  const otherDevice = await socket(a, joiner.cookie)

  const joined = await request(b, 'POST', url, { cookie: joiner.cookie })
  t.same([joined.status, joined.body], [201, { status: 'success', url: room.url }])
  t.equal(joined.headers.get('location'), room.url)
  const event = await ownerWatch.until(() => ownerWatch.events.find((e) => e.type === 'member.added'), 'member.added on node C')
  t.match(event, { type: 'member.added', conversationId: room.id, user: joiner.username, by: joiner.username })
  t.same(
    await otherDevice.waitFor((f) => f.type === 'conversation.added', 'conversation.added on node A'),
    { type: 'conversation.added', conversationId: room.id, url: room.url, by: joiner.username },
  )
  t.equal((await request(a, 'GET', room.url, { cookie: joiner.cookie })).status, 200, 'the joiner reads it now')
  t.equal((await request(c, 'POST', room.url, { cookie: joiner.cookie, body: { text: 'hello' } })).status, 201, 'and posts')

  const again = await request(c, 'POST', url, { cookie: joiner.cookie })
  t.same([again.status, again.body], [200, { status: 'success', url: room.url }], 'joining again changes nothing')
  t.equal((await request(a, 'POST', url, { cookie: owner.cookie })).status, 200, 'nor does the owner using it')
  t.equal((await request(a, 'GET', `${room.url}/invites`, { cookie: owner.cookie })).body.invites[0].uses, 1, 'one use counted')
  t.same((await request(a, 'GET', url)).body, { title: 'the team', members: 2 })

  const replay = await socket(b, joiner.cookie)
  t.match(await replay.call({ type: 'subscribe', id: 'r', conversationId: room.id, afterSeq: 0 }), { type: 'subscribed' })
  await replay.waitForEvents(2)
  t.same(replay.events.map((e) => [e.type, e.user ?? e.message?.user]), [['member.added', joiner.username], ['message.created', joiner.username]], 'the join is in the log, replayed on resume')
})

t.test('revoked, unknown and forged invites are 404; expired and used-up ones 410', async (t) => {
  const owner = await register(a)
  const user = await register(b)
  const room = await conversation(owner.cookie, 'open')

  const revoked = await invite(a, owner.cookie, room.url)
  t.same((await request(b, 'DELETE', `${room.url}/invites/${revoked.id}`, { cookie: owner.cookie })).body, { status: 'success' })
  t.equal((await request(b, 'DELETE', `${room.url}/invites/${revoked.id}`, { cookie: owner.cookie })).status, 404, 'revoking twice')
  const forged = randomBytes(32).toString('base64url')
  for (const token of [revoked.token, forged, 'abc', `${forged}x`, forged.replace(/./, '!'), '%00', 'x'.repeat(120)]) {
    const path = `/api/invites/${encodeURIComponent(token)}`
    t.same((await request(c, 'GET', path)).body, { status: 'not found' }, `GET ${token.slice(0, 10)}`)
    t.equal((await request(c, 'POST', path, { cookie: user.cookie })).status, 404, `POST ${token.slice(0, 10)}`)
  }

  const expired = await invite(a, owner.cookie, room.url, { expiresInSeconds: 60 })
  await sql(`UPDATE invites SET expires_at = now() - interval '1 second' WHERE id = $1`, [expired.id])
  t.same([(await request(b, 'GET', expired.url)).status, (await request(b, 'GET', expired.url)).body], [410, { status: 'gone' }], 'expired')
  t.equal((await request(c, 'POST', expired.url, { cookie: user.cookie })).status, 410)

  const once = await invite(a, owner.cookie, room.url, { maxUses: 1 })
  t.equal((await request(b, 'POST', once.url, { cookie: user.cookie })).status, 201)
  t.equal((await request(b, 'GET', once.url)).status, 410, 'used up')
  t.equal((await request(c, 'POST', once.url, { cookie: (await register(c)).cookie })).status, 410)
  t.equal((await request(a, 'GET', `/api/conversations/${room.id}/members`, { cookie: owner.cookie })).body.members.length, 2)
})

t.test('concurrent joins on the last uses: exactly that many get in, across the nodes', async (t) => {
  const owner = await register(a)
  const room = await conversation(owner.cookie, 'private')
  for (const maxUses of [1, 3]) {
    const { url, id } = await invite(a, owner.cookie, room.url, { maxUses })
    const users = await Promise.all(Array.from({ length: 9 }, (_, i) => register(nodes[i % 3]!.url)))
    const answers = await Promise.all(users.map((user, i) => request(nodes[i % 3]!.url, 'POST', url, { cookie: user.cookie })))
    const statuses = answers.map((answer) => answer.status)
    t.equal(statuses.filter((s) => s === 201).length, maxUses, `${maxUses} joined`)
    t.equal(statuses.filter((s) => s === 410).length, 9 - maxUses, 'the others were told it is used up')
    t.same((await sql('SELECT uses FROM invites WHERE id = $1', [id]))[0], { uses: maxUses })
  }
  t.equal((await request(b, 'GET', `${room.url}/members`, { cookie: owner.cookie })).body.members.length, 1 + 1 + 3)
})

t.test('who may make, list, revoke and use invites', async (t) => {
  const owner = await register(a)
  const member = await register(a)
  const outsider = await register(b)
  const room = await conversation(owner.cookie, 'open')
  await request(a, 'POST', `${room.url}/join`, { cookie: member.cookie })
  const hidden = await conversation(owner.cookie, 'private')
  const { id, url } = await invite(a, owner.cookie, room.url)

  t.equal((await request(b, 'POST', `${room.url}/invites`, { cookie: member.cookie, body: {} })).status, 403, 'a member who is not the owner')
  t.equal((await request(b, 'GET', `${room.url}/invites`, { cookie: member.cookie })).status, 403)
  t.equal((await request(b, 'DELETE', `${room.url}/invites/${id}`, { cookie: member.cookie })).status, 403)
  t.equal((await request(b, 'POST', `${hidden.url}/invites`, { cookie: outsider.cookie, body: {} })).status, 404, 'a private conversation of others does not exist')
  t.equal((await request(b, 'DELETE', `${hidden.url}/invites/${id}`, { cookie: owner.cookie })).status, 404, "another conversation's invite")
  t.equal((await request(b, 'POST', `${room.url}/invites`, { body: {} })).status, 401)
  t.equal((await request(b, 'POST', url)).status, 401, 'joining needs a login')
  t.equal((await request(b, 'POST', '/api/conversations/987654/invites', { cookie: owner.cookie, body: {} })).status, 404)

  const direct = await request(a, 'POST', `/api/direct/${outsider.username}`, { cookie: owner.cookie })
  t.equal((await request(a, 'POST', `${direct.body.url}/invites`, { cookie: owner.cookie, body: {} })).status, 400, 'a direct conversation has none')
  for (const body of [{ maxUses: 0 }, { maxUses: 1.5 }, { maxUses: '2' }, { expiresInSeconds: 59 }, { expiresInSeconds: 400 * 86400 }, []]) {
    const res = await request(a, 'POST', `${room.url}/invites`, { cookie: owner.cookie, body })
    t.equal(res.status, 400, JSON.stringify(body))
    t.type(res.body.message, 'string')
  }

  const publicRoom = await conversation(owner.cookie, 'public')
  const publicInvite = await invite(c, owner.cookie, publicRoom.url)
  t.equal((await request(c, 'POST', publicInvite.url, { cookie: outsider.cookie })).status, 201, 'a public conversation’s invite makes a member')
  t.equal((await request(c, 'POST', publicRoom.url, { cookie: outsider.cookie, body: { text: 'may post' } })).status, 201)
})

t.test('a block between the user and the owner refuses the join', async (t) => {
  const owner = await register(a)
  const pest = await register(b)
  const room = await conversation(owner.cookie, 'private')
  const { url } = await invite(a, owner.cookie, room.url)
  await request(a, 'POST', '/api/blocks', { cookie: owner.cookie, body: { username: pest.username } })
  t.equal((await request(b, 'POST', url, { cookie: pest.cookie })).status, 403)
  t.equal((await request(b, 'GET', room.url, { cookie: pest.cookie })).status, 404, 'still hidden')
  await request(a, 'DELETE', `/api/blocks/${pest.username}`, { cookie: owner.cookie })
  await request(b, 'POST', '/api/blocks', { cookie: pest.cookie, body: { username: owner.username } })
  t.equal((await request(c, 'POST', url, { cookie: pest.cookie })).status, 403, 'either way')
  t.equal((await request(a, 'GET', `${room.url}/invites`, { cookie: owner.cookie })).body.invites[0].uses, 0, 'no use counted')
})

t.test('making and using invites are rate-limited across nodes', async (t) => {
  const limits = { RATE_LIMIT_INVITES_CREATE: '2/600', RATE_LIMIT_INVITES_USE: '3/600' }
  const first = await startNode(t, 'invites_limits', limits)
  const second = await startNode(t, 'invites_limits_b', { ...limits, DATABASE_URL: first.config.databaseUrl, REDIS_PREFIX: first.config.redisPrefix })
  const owner = await register(first.url)
  const res = await request(first.url, 'POST', '/api/conversations', { cookie: owner.cookie, body: { title: 'limited' } })
  const room = res.body.url
  const made = await invite(first.url, owner.cookie, room)
  await invite(second.url, owner.cookie, room)
  const refused = await request(first.url, 'POST', `${room}/invites`, { cookie: owner.cookie, body: {} })
  t.same([refused.status, refused.body], [429, { status: 'too many requests' }], 'the third invite, on the other node')
  t.ok(Number(refused.headers.get('retry-after')) > 0)

  const user = await register(second.url)
  t.equal((await request(first.url, 'GET', made.url)).status, 200)
  t.equal((await request(second.url, 'GET', `/api/invites/${randomBytes(32).toString('base64url')}`)).status, 404, 'a guess counts too')
  t.equal((await request(second.url, 'POST', made.url, { cookie: user.cookie })).status, 201)
  const over = await request(first.url, 'POST', made.url, { cookie: user.cookie })
  t.equal(over.status, 429, 'the fourth use from this address')
  t.equal((await request(second.url, 'GET', made.url)).status, 429)
})
