import { ChatClient } from '@chat-cluster/client'
import { byId, whileBusy } from './dom.js'
import { explain, showError } from './status.js'

/**
 * The sign-in screen: sign in with a password, or register (with a password or without one). Each
 * sign-in makes a ChatClient of its own, so nothing of an earlier session carries over.
 */
export function showSignIn(onSignedIn: (client: ChatClient) => void, notice?: string): void {
  const section = byId('sign-in', HTMLElement)
  const form = byId('sign-in-form', HTMLFormElement)
  const username = byId('username', HTMLInputElement)
  const password = byId('password', HTMLInputElement)
  const noticeLine = byId('sign-in-notice', HTMLParagraphElement)
  section.hidden = false
  noticeLine.hidden = notice === undefined
  noticeLine.textContent = notice ?? ''
  password.value = ''
  showError('sign-in-error', undefined)
  username.focus()

  const listening = new AbortController()
  const submit = async (event: SubmitEvent) => {
    event.preventDefault()
    const registering = (event.submitter as HTMLButtonElement | null)?.value === 'register'
    const name = username.value.trim()
    if (!name) return showError('sign-in-error', 'Enter a username.', username)
    if (!registering && !password.value) return showError('sign-in-error', 'Enter your password to sign in, or register without one.', password)
    showError('sign-in-error', undefined, username)
    showError('sign-in-error', undefined, password)
    const client = new ChatClient()
    try {
      await whileBusy(form, () => (registering ? client.register(name, password.value || undefined) : client.login(name, password.value)))
    } catch (err) {
      client.close()
      return showError('sign-in-error', explain(err, { 401: 'Wrong username or password.', 409: `The username “${name}” is taken: pick another one, or sign in.` }))
    }
    listening.abort()
    section.hidden = true
    password.value = ''
    onSignedIn(client)
  }
  form.addEventListener('submit', (event) => void submit(event), { signal: listening.signal })
}
