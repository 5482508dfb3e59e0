import { ApiError, ChatClient } from '@chat-cluster/client'
import { byId } from './dom.js'
import { invitationNotice, invitedWith } from './invites.js'
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

/** Goes on where the browser's session cookie says: signed in, or the sign-in screen (saying what an invite opened is to). */
async function boot(): Promise<void> {
  const client = new ChatClient()
  try {
    await client.api.me()
    signedIn(client)
  } catch (err) {
    const token = invitedWith()
    const notice = err instanceof ApiError && err.status === 401 ? token && (await invitationNotice(client, token)) : explain(err)
    client.close()
    showSignIn(signedIn, notice || undefined)
  } finally {
    byId('booting', HTMLParagraphElement).hidden = true
  }
}

void boot()
