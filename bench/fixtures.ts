import { request } from 'undici'

export interface BenchUser {
  username: string
  cookie: string
}

/** Runs `task` for 0..count-1 with at most `limit` at a time, keeping results in order. */
export async function times<T>(count: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count)
  let next = 0
  const worker = async () => {
    for (let i = next++; i < count; i = next++) results[i] = await task(i)
  }
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker))
  return results
}

async function postJson(url: string, body: unknown, cookie?: string): Promise<{ url?: string; cookie?: string }> {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    body: JSON.stringify(body),
  })
  const answer = (await res.body.json()) as { url?: string }
  if (res.statusCode !== 201) throw new Error(`POST ${url}: ${res.statusCode} ${JSON.stringify(answer)}`)
  const setCookie = res.headers['set-cookie']
  const first = Array.isArray(setCookie) ? setCookie[0] : setCookie
  return { url: answer.url, cookie: first?.split(';')[0] }
}

/** Registers `count` users (username only, as most chat clients do), spread over the nodes. */
export function registerUsers(urls: readonly string[], count: number, tag: string): Promise<BenchUser[]> {
  return times(count, 32, async (i) => {
    const username = `${tag}u${i}`
    const { cookie } = await postJson(`${urls[i % urls.length]}/auth/register`, { username })
    return { username, cookie: cookie as string }
  })
}

/** Creates `count` conversations and returns their ids. */
export function createConversations(urls: readonly string[], owner: BenchUser, count: number, title: string): Promise<number[]> {
  return times(count, 16, async (i) => {
    const { url } = await postJson(`${urls[i % urls.length]}/api/conversations`, { title: `${title} ${i}` }, owner.cookie)
    return Number(url?.slice(url.lastIndexOf('/') + 1))
  })
}
