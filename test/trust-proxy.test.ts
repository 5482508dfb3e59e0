import t, { type Test } from 'tap'
import { startNode } from './helpers/in-process.js'
import { newUsername, request } from './helpers/http-client.js'

// The per-address limits count the address the node believes is the client's. HAProxy appends the
// address it saw to X-Forwarded-For, after whatever the client wrote there; these requests come from
// loopback, as from the proxy, carrying what such a proxy would forward.
const LIMITS = { RATE_LIMIT_REGISTER_IP: '2/3600' }

const registerWith = (url: string, forwardedFor: string) =>
  request(url, 'POST', '/auth/register', { body: { username: newUsername('xff') }, headers: { 'x-forwarded-for': forwardedFor } })

/** Two registrations from `client` with a different forged address each, then a third: refused. */
async function limitHoldsForged(t: Test, url: string, client: string) {
  for (const forged of ['198.51.100.1', '198.51.100.2']) t.equal((await registerWith(url, `${forged}, ${client}`)).status, 201)
  const third = await registerWith(url, `198.51.100.3, 10.9.8.7, ${client}`)
  t.equal(third.status, 429, 'a forged address changes nothing: the limit counts the one the proxy appended')
}

for (const trust of ['1', '127.0.0.1/8, 10.0.0.0/8', 'loopback']) {
  t.test(`TRUST_PROXY=${trust}: the client is the address the proxy appended`, async (t) => {
    const { url } = await startNode(t, 'trust_proxy', { ...LIMITS, TRUST_PROXY: trust })
    await limitHoldsForged(t, url, '203.0.113.7')
    t.equal((await registerWith(url, '198.51.100.1, 203.0.113.8')).status, 201, 'another client behind the proxy has its own count')
  })
}

t.test('TRUST_PROXY unset: X-Forwarded-For is ignored, every request counts against the socket address', async (t) => {
  const { url } = await startNode(t, 'trust_proxy_off', LIMITS)
  t.equal((await registerWith(url, '203.0.113.1')).status, 201)
  t.equal((await registerWith(url, '203.0.113.2')).status, 201)
  t.equal((await registerWith(url, '203.0.113.3')).status, 429, 'whatever address the header names')
})

t.test('a trusted list: a peer outside it is not a proxy, so its X-Forwarded-For is ignored', async (t) => {
  const { url } = await startNode(t, 'trust_proxy_list', { ...LIMITS, TRUST_PROXY: '10.0.0.0/8' })
  t.equal((await registerWith(url, '203.0.113.1')).status, 201)
  t.equal((await registerWith(url, '203.0.113.2')).status, 201)
  t.equal((await registerWith(url, '203.0.113.3')).status, 429, 'loopback is not in 10.0.0.0/8: the socket address counts')
})
