import { ApiError, ChatClient } from '@chat-cluster/client'
import { byId } from './dom.js'
import { showSignIn } from './sign-in.js'
import { explain } from './status.js'
import { Workspace } from './workspace.js'

/**
 * The web client of chat-cluster, served by every node at `/`. It talks to the node it came from
 * with the session cookie, through the SDK (client/src), which keeps the socket and every followed
 * conversation across reconnects.
 */

function signedIn(client: ChatClient): void {
  void new Workspace(client, (notice) => showSignIn(signedIn, notice)).start()
}

/** Goes on where the browser's session cookie says: signed in, or the sign-in screen. */
async function boot(): Promise<void> {
  const client = new ChatClient()
  try {
    await client.api.me()
    signedIn(client)
  } catch (err) {
    client.close()
    showSignIn(signedIn, err instanceof ApiError && err.status === 401 ? undefined : explain(err))
  } finally {
    byId('booting', HTMLParagraphElement).hidden = true
  }
}

void boot()
