import { request, Client } from 'undici'
import { readFileSync } from 'node:fs'
const base = 'http://127.0.0.1:3900'
const pid = Number(process.argv[2])
const cpu = () => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return (Number(f[11]) + Number(f[12])) * 10 }
const reg = await request(`${base}/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'p' + Date.now() }) })
const cookie = String(reg.headers['set-cookie']).split(';')[0]; await reg.body.text()
const conv = await request(`${base}/api/conversations`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify({ title: 'x' }) })
const { url } = await conv.body.json() as any
const id = url.split('/').pop()
async function run(name: string, conc: number, ms: number, req: (c: Client) => Promise<unknown>) {
  const lat: number[] = []; const c0 = cpu(); const end = performance.now() + ms; const t0 = performance.now()
  await Promise.all(Array.from({ length: conc }, async () => { const c = new Client(base); while (performance.now() < end) { const s = performance.now(); await req(c); lat.push(performance.now() - s) } await c.close() }))
  const el = performance.now() - t0; lat.sort((a, b) => a - b)
  console.log(`${name} conc ${conc}: ${(lat.length / el * 1000).toFixed(0)} req/s p50 ${lat[lat.length >> 1]!.toFixed(1)} p99 ${lat[Math.floor(lat.length * 0.99)]!.toFixed(1)} node cpu ${((cpu() - c0) / el * 100).toFixed(0)}% = ${((cpu() - c0) * 1000 / lat.length).toFixed(0)} us/req`)
}
const post = async (c: Client) => { const r = await c.request({ method: 'POST', path: `/api/conversations/${id}`, headers: { 'content-type': 'application/json', cookie }, body: '{"text":"hi"}' }); await r.body.text() }
const health = async (c: Client) => { const r = await c.request({ method: 'GET', path: '/healthz' }); await r.body.text() }
await run('warm', 8, 2000, post)
await run('healthz', 32, 3000, health)
await run('post', 1, 3000, post)
await run('post', 8, 3000, post)
await run('post', 32, 3000, post)
process.exit(0)
