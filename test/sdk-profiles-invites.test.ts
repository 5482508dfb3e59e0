import t from 'tap'
import { ApiError, type ChatEvent } from '../client/src/index.js'
import { newUsername } from './helpers/http-client.js'
import { startNode } from './helpers/in-process.js'
import { sdkClient } from './helpers/sdk.js'
import { until } from './helpers/waiting.js'

const node = await startNode(t, 'sdk_profiles_invites')

const statusOf = (err: unknown) => (err instanceof ApiError ? err.status : err)

t.test('the SDK registers with a profile, edits it and reads public profiles', async (t) => {
  const ada = sdkClient(t, [node.url])
  const grace = sdkClient(t, [node.url], { auth: 'tokens' })
  const adaName = newUsername('ada')
  await ada.register(adaName, undefined, { firstName: 'Ada', email: `${adaName}@example.org` })
  await grace.register(newUsername('grace'), 'a long password', { lastName: 'Hopper', phone: '+12025550123' })
  t.match(await ada.api.me(), { username: adaName, firstName: 'Ada', lastName: null, email: `${adaName}@example.org`, phone: null })
  t.match(await grace.api.updateProfile({ firstName: 'Grace', phone: null }), { firstName: 'Grace', lastName: 'Hopper', phone: null })
  t.same(await grace.api.profile(adaName), { username: adaName, displayName: null, firstName: 'Ada', lastName: null })
  t.equal(statusOf(await grace.api.updateProfile({ email: `${adaName.toUpperCase()}@EXAMPLE.ORG` }).catch((err: unknown) => err)), 409, 'a taken email')
  t.equal(statusOf(await grace.api.updateProfile({ phone: '12345' }).catch((err: unknown) => err)), 400)
  t.equal(statusOf(await grace.api.profile('nobody-at-all').catch((err: unknown) => err)), 404)
  t.equal((await ada.api.setDisplayName('Countess')).displayName, 'Countess')
})

t.test('the SDK makes, lists, revokes, previews and accepts invites', async (t) => {
  const owner = sdkClient(t, [node.url])
  const joiner = sdkClient(t, [node.url])
  const anonymous = sdkClient(t, [node.url])
  await owner.register(newUsername('owner'))
  await joiner.register(newUsername('joiner'))
  const conversationId = await owner.api.createConversation({ title: 'by invitation', kind: 'private' })
  const invite = await owner.api.createInvite(conversationId, { maxUses: 2 })
  t.match(invite, { token: /^[A-Za-z0-9_-]{43}$/, maxUses: 2, uses: 0, expiresAt: null })
  t.same(await anonymous.api.invitePreview(invite.token), { title: 'by invitation', members: 1 }, 'no sign-in needed')

  await owner.connect()
  await owner.subscribe(conversationId)
  const seen: ChatEvent[] = []
  owner.on('event', (event) => seen.push(event))
  await joiner.connect()
  const added: number[] = []
  joiner.on('conversation.added', (notice) => added.push(notice.conversationId))
  t.same(await joiner.api.acceptInvite(invite.token), { conversationId, created: true })
  t.same(await joiner.api.acceptInvite(invite.token), { conversationId, created: false }, 'again: a member already')
  await until(() => seen.some((event) => event.type === 'member.added'), 'the owner sees the join')
  await until(() => added.includes(conversationId), "the joiner's device hears of it")
  t.same((await owner.api.invites(conversationId)).map((i) => [i.id, i.uses]), [[invite.id, 1]])

  await owner.api.revokeInvite(conversationId, invite.id)
  t.equal(statusOf(await anonymous.api.invitePreview(invite.token).catch((err: unknown) => err)), 404, 'revoked')
  const once = await owner.api.createInvite(conversationId, { maxUses: 1, expiresInSeconds: 600 })
  await anonymous.register(newUsername('third'))
  await anonymous.api.acceptInvite(once.token)
  t.equal(statusOf(await joiner.api.invitePreview(once.token).catch((err: unknown) => err)), 410, 'used up')
})
