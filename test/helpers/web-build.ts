import { access } from 'node:fs/promises'
import { join } from 'node:path'
import { loadConfig } from '../../src/config.js'

/**
 * Where the built web client is, for tests that serve it. `npm test` builds it first (pretest); a
 * test file run on its own needs `npm run build:web` once, and says so rather than failing obscurely.
 */
export async function builtWebClient(): Promise<string> {
  const dir = loadConfig({}).webClientDir
  try {
    await access(join(dir, 'index.html'))
  } catch {
    throw new Error(`the web client is not built in ${dir}: run npm run build:web (npm test does it first)`)
  }
  return dir
}
