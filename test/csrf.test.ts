import t from 'tap'
import { redactUrl } from '../src/http/log-redaction.js'
import { startNode } from './helpers/in-process.js'
import { createConversation, newUsername, register, request } from './helpers/http-client.js'

const node = await startNode(t, 'csrf', { ALLOWED_ORIGINS: 'https://app.example.com' })
const url = node.url
const user = await register(url)
const { id } = await createConversation(url, user.cookie)

t.test('a cookie-authenticated request that changes state must be JSON: 415', async (t) => {
  const sends: [string, string, string][] = [
    ['text/plain', 'text=hi', `/api/conversations/${id}`],
    ['application/x-www-form-urlencoded', 'text=hi', `/api/conversations/${id}`],
    ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="text"\r\n\r\nhi\r\n--x--', `/api/conversations/${id}`],
    ['text/plain', '{"title":"t"}', '/api/conversations'],
    ['text/plain', '', '/auth/logout'],
  ]
  for (const [type, body, path] of sends) {
    const res = await request(url, 'POST', path, { cookie: user.cookie, rawBody: body, headers: { 'content-type': type } })
    t.same([res.status, res.body.status], [415, 'unsupported media type'], `${type} to ${path}`)
  }
  const login = await request(url, 'POST', '/auth/login', { rawBody: 'username=a&password=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(login.status, 415, 'a login form from another site is refused too')
  t.equal((await request(url, 'GET', `/api/conversations/${id}`, { cookie: user.cookie })).body.messages.length, 0, 'nothing was posted')
  t.equal((await request(url, 'GET', '/api/me', { cookie: user.cookie })).status, 200, 'still signed in')
})

t.test('a request whose Origin is foreign is refused with 403', async (t) => {
  for (const origin of ['https://evil.example', 'null', 'http://127.0.0.1.evil.example']) {
    const res = await request(url, 'POST', `/api/conversations/${id}`, { cookie: user.cookie, body: { text: 'hi' }, headers: { origin } })
    t.equal(res.status, 403, origin)
  }
  const deleting = await request(url, 'POST', '/auth/logout', { cookie: user.cookie, headers: { origin: 'https://evil.example' } })
  t.equal(deleting.status, 403, 'a bodyless logout from another site')
  const registering = await request(url, 'POST', '/auth/register', { body: { username: newUsername() }, headers: { origin: 'https://evil.example' } })
  t.equal(registering.status, 403, 'unauthenticated state changes too')
  t.equal((await request(url, 'GET', `/api/conversations/${id}`, { cookie: user.cookie })).body.messages.length, 0)
})

t.test('JSON from the same origin or an allowed one passes; so does a bodyless DELETE', async (t) => {
  for (const origin of [url, 'https://app.example.com', undefined]) {
    const res = await request(url, 'POST', `/api/conversations/${id}`, {
      cookie: user.cookie,
      body: { text: `from ${origin}` },
      headers: origin ? { origin, 'content-type': 'application/json; charset=utf-8' } : {},
    })
    t.equal(res.status, 201, String(origin))
  }
  const posted = await request(url, 'POST', `/api/conversations/${id}`, { cookie: user.cookie, body: { text: 'to delete' } })
  t.equal((await request(url, 'DELETE', posted.body.url, { cookie: user.cookie })).status, 200)
})

t.test('logs never hold a credential from the URL', async (t) => {
  t.equal(redactUrl('/ws?access_token=abc.def.ghi&x=1'), '/ws?access_token=%5BREDACTED%5D&x=1')
  t.equal(redactUrl('/a?token=1&Refresh_Token=2&password=3&id_token=4'), '/a?token=%5BREDACTED%5D&Refresh_Token=%5BREDACTED%5D&password=%5BREDACTED%5D&id_token=%5BREDACTED%5D')
  t.equal(redactUrl('/api/conversations/1?N=5'), '/api/conversations/1?N=5', 'other parameters stay')
  t.equal(redactUrl('/api/conversations'), '/api/conversations')
})
