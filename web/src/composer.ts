import { type ChatClient, type ConversationMessage, quoteOf } from '@chat-cluster/client'
import { byId, el, excerpt } from './dom.js'
import { drawQuote } from './message-item.js'
import { announce, explain, showError } from './status.js'
import { messageProblem, roomLeft } from './validation.js'

/**
 * The message box of the open conversation: checks the text before anything is sent, tells the
 * others the user is typing, and sends through the client's outbox, which keeps a message across
 * reconnects until the server has it, exactly once. Until then it is listed as "Sending". A reply
 * shows the quote of the message it answers above the box until it is sent or cancelled.
 */
export class Composer {
  private readonly form = byId('composer', HTMLFormElement)
  private readonly field = byId('message-text', HTMLTextAreaElement)
  private readonly counter = byId('composer-count', HTMLParagraphElement)
  private readonly pending = byId('pending', HTMLOListElement)
  private readonly replyTarget = byId('reply-target', HTMLDivElement)
  /** The message the next send replies to. */
  private replying: ConversationMessage | undefined

  constructor(
    private readonly client: ChatClient,
    private readonly conversationId: number,
    private readonly signal: AbortSignal,
  ) {
    this.field.value = ''
    this.field.disabled = false
    this.pending.replaceChildren()
    this.replyTo(undefined)
    this.showRoom()
    showError('composer-error', undefined, this.field)
    this.form.addEventListener('submit', (event) => (event.preventDefault(), this.send()), { signal })
    this.field.addEventListener('input', () => this.typed(), { signal })
    this.field.addEventListener(
      'keydown',
      (event) => {
        if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return
        event.preventDefault()
        this.form.requestSubmit()
      },
      { signal },
    )
    // The message's event may come before its acknowledgement: it is shown then, so its "Sending"
    // copy goes. The user's messages from here arrive in the order they were sent.
    const off = client.on('message.created', ({ conversationId: id, message }) => {
      if (id !== conversationId || message.user !== client.user) return
      for (const item of this.pending.children) if (item instanceof HTMLElement && item.dataset.text === message.text) return item.remove()
    })
    signal.addEventListener('abort', () => {
      off()
      this.pending.replaceChildren()
      this.replyTo(undefined)
    })
  }

  focus(): void {
    this.field.focus()
  }

  /** Makes the next send a reply to `message` (undefined: to nothing), and shows its quote above the box. */
  replyTo(message: ConversationMessage | undefined): void {
    this.replying = message
    this.replyTarget.hidden = message === undefined
    if (!message) return this.replyTarget.replaceChildren()
    const cancel = el('button', { class: 'link', attrs: { type: 'button', 'aria-label': 'Cancel the reply' }, on: { click: () => (this.replyTo(undefined), this.focus()) } }, 'Cancel')
    const quote = drawQuote({ seq: message.seq, url: message.url, user: message.user, text: quoteOf(message.text) })
    this.replyTarget.replaceChildren(el('span', { class: 'hint' }, 'Replying to'), quote, cancel)
    this.focus()
  }

  /** The conversation can no longer be posted to. */
  disable(reason: string): void {
    this.field.disabled = true
    showError('composer-error', reason)
  }

  private typed(): void {
    this.showRoom()
    showError('composer-error', undefined, this.field)
    if (this.field.value.trim() !== '') this.client.typing(this.conversationId)
  }

  private showRoom(): void {
    const room = roomLeft(this.field.value)
    this.counter.textContent = room.text
    this.counter.classList.toggle('over', room.over)
  }

  private send(): void {
    const text = this.field.value
    const problem = messageProblem(text)
    if (problem) {
      showError('composer-error', problem, this.field)
      this.field.focus()
      return
    }
    const replyTo = this.replying?.seq
    this.field.value = ''
    this.replyTo(undefined)
    this.showRoom()
    const item = el('li', { class: 'message sending', attrs: { 'data-text': text } }, el('p', { class: 'meta' }, 'Sending…'), el('p', { class: 'text' }, text))
    this.pending.append(item)
    this.client.send(this.conversationId, text, replyTo === undefined ? {} : { replyTo }).then(
      () => item.remove(),
      (err: unknown) => {
        item.remove()
        announce(`Not sent: “${excerpt(text)}”`)
        // The box is another conversation's by now.
        if (this.signal.aborted) return
        if (this.field.value === '') this.field.value = text
        this.showRoom()
        showError('composer-error', explain(err), this.field)
      },
    )
  }
}
