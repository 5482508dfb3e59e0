import type { ChatClient, ConversationSummary, InboxState, NewConversation } from '@chat-cluster/client'
import { ApiError, conversationIdOf } from '@chat-cluster/client'
import { byId, el, whileBusy } from './dom.js'
import { announce, explain, showError } from './status.js'
import { titleProblem } from './validation.js'

/** Opens a conversation in the view: by id, with a title to show until the inbox has one. */
export type Open = (conversationId: number, title: string) => void

/**
 * The ways to a conversation besides the inbox: create one, start a direct one by username, join
 * one by number or from the list of all those the user can see.
 */
export function conversationForms(client: ChatClient, inbox: InboxState, open: Open, signal: AbortSignal): void {
  handle('new-conversation', signal, async (form) => {
    const title = byId('new-title', HTMLInputElement)
    const problem = titleProblem(title.value)
    if (problem) return fail('new-conversation-error', problem, title)
    const members = byId('new-members', HTMLInputElement)
      .value.split(',')
      .map((name) => name.trim())
      .filter((name) => name !== '')
    const fields: NewConversation = { title: title.value.trim(), kind: byId('new-kind', HTMLSelectElement).value as NewConversation['kind'], members }
    try {
      const id = await whileBusy(form, () => client.api.createConversation(fields))
      form.reset()
      announce(`Created “${fields.title}”.`)
      // Its creator is told of it by no notice (those go to members added): the inbox reads again.
      await inbox.load().catch(() => {})
      open(id, fields.title)
    } catch (err) {
      // A 404's message names the users who do not exist ("unknown users: ann, bob").
      const unknown = err instanceof ApiError && err.body.message ? ` (${err.body.message})` : ''
      fail('new-conversation-error', explain(err, { 403: 'One of those users has blocked you, or you them.', 404: `One of those users does not exist${unknown}: check the names.` }))
    }
  })

  handle('direct', signal, async (form) => {
    const field = byId('direct-username', HTMLInputElement)
    const name = field.value.trim()
    if (!name) return fail('direct-error', 'Enter the username of the person to write to.', field)
    if (name.toLowerCase() === client.user?.toLowerCase()) return fail('direct-error', 'That is you: enter someone else’s username.', field)
    try {
      const { conversationId } = await whileBusy(form, () => client.api.openDirect(name))
      form.reset()
      open(conversationId, name)
    } catch (err) {
      fail('direct-error', explain(err, { 404: `There is no user named “${name}”.`, 403: `You cannot write to ${name}: one of you has blocked the other.` }), field)
    }
  })

  handle('join', signal, async (form) => {
    const field = byId('join-id', HTMLInputElement)
    const id = Number(field.value.trim())
    if (!Number.isSafeInteger(id) || id < 1) return fail('join-error', 'Enter a conversation number, such as 12.', field)
    await join(client, id, `Conversation ${id}`, form, open)
  })

  const directory = byId('directory', HTMLUListElement)
  byId('browse', HTMLButtonElement).addEventListener(
    'click',
    async () => {
      try {
        const conversations = await client.api.conversations()
        directory.replaceChildren(...conversations.map((c) => listed(client, c, open)))
        if (conversations.length === 0) directory.append(el('li', { class: 'hint' }, 'There are no conversations yet.'))
      } catch (err) {
        announce(`The list could not be read: ${explain(err)}`)
      }
    },
    { signal },
  )
}

/** One conversation of GET /api/conversations: view it, or join it. */
function listed(client: ChatClient, conversation: ConversationSummary, open: Open): HTMLLIElement {
  const id = conversationIdOf(conversation.url)
  const messages = conversation.msgcount === 1 ? '1 message' : `${conversation.msgcount} messages`
  return el(
    'li',
    {},
    el('span', { class: 'entry-title' }, conversation.title),
    el('span', { class: 'hint' }, ` (number ${id}, ${messages}) `),
    el('button', { class: 'link', attrs: { type: 'button', 'aria-label': `View ${conversation.title}` }, on: { click: () => open(id, conversation.title) } }, 'View'),
    el('button', { class: 'link', attrs: { type: 'button', 'aria-label': `Join ${conversation.title}` }, on: { click: () => void join(client, id, conversation.title, undefined, open) } }, 'Join'),
  )
}

async function join(client: ChatClient, id: number, title: string, form: HTMLFormElement | undefined, open: Open): Promise<void> {
  try {
    const { created } = form ? await whileBusy(form, () => client.api.join(id)) : await client.api.join(id)
    form?.reset()
    showError('join-error', undefined)
    announce(created ? `Joined “${title}”.` : `You are a member of “${title}” already.`)
    open(id, title)
  } catch (err) {
    fail(
      'join-error',
      explain(err, {
        403: `Conversation ${id} is public: anyone can read it, and its owner adds the members. Use View to read it.`,
        404: `There is no conversation ${id} that you can see.`,
      }),
    )
  }
}

/** Listens to a form's submit, clearing its error first. */
function handle(id: string, signal: AbortSignal, submit: (form: HTMLFormElement) => Promise<void>): void {
  const form = byId(id, HTMLFormElement)
  form.addEventListener(
    'submit',
    (event) => {
      event.preventDefault()
      for (const field of form.querySelectorAll('[aria-invalid]')) field.removeAttribute('aria-invalid')
      showError(`${id}-error`, undefined)
      void submit(form)
    },
    { signal },
  )
}

function fail(errorId: string, text: string, field?: HTMLElement): void {
  showError(errorId, text, field)
  field?.focus()
}
