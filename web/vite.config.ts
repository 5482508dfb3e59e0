import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

/**
 * `npm run build:web`: the web client, built into web/dist, which every node serves at `/`
 * (src/http/web-client.ts). The SDK comes from the repository's own client/src, not a package.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  resolve: {
    alias: { '@chat-cluster/client': fileURLToPath(new URL('../client/src/index.ts', import.meta.url)) },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // One entry chunk and nothing to preload: no polyfill code is needed.
    modulePreload: { polyfill: false },
  },
})
