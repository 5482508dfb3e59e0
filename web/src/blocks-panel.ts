import type { Block, ChatClient } from '@chat-cluster/client'
import { byId, el, whileBusy } from './dom.js'
import { announce, explain, showError } from './status.js'

/**
 * Blocking and unblocking, and the list of blocked users. A block stops direct messages both ways;
 * in conversations shared with others the server filters nothing, so the view hides their messages.
 */
export class BlocksPanel {
  private names = new Set<string>()
  private readonly form = byId('block', HTMLFormElement)
  private readonly field = byId('block-username', HTMLInputElement)
  private readonly list = byId('blocks', HTMLUListElement)

  constructor(
    private readonly client: ChatClient,
    private readonly changed: () => void,
    signal: AbortSignal,
  ) {
    this.form.addEventListener('submit', (event) => (event.preventDefault(), void this.block()), { signal })
    signal.addEventListener('abort', () => this.list.replaceChildren())
  }

  /** Names are unique whatever their letter case, so they are compared in lower case. */
  isBlocked(username: string): boolean {
    return this.names.has(username.toLowerCase())
  }

  async load(): Promise<void> {
    this.show(await this.client.api.blocks())
  }

  private async block(): Promise<void> {
    const name = this.field.value.trim()
    showError('block-error', undefined, this.field)
    if (!name) return showError('block-error', 'Enter the username to block.', this.field)
    try {
      await whileBusy(this.form, () => this.client.api.block(name))
      this.form.reset()
      announce(`Blocked ${name}.`)
      await this.load()
    } catch (err) {
      showError('block-error', explain(err, { 400: 'You cannot block yourself.', 404: `There is no user named “${name}”.` }), this.field)
    }
  }

  private async unblock(name: string): Promise<void> {
    try {
      await this.client.api.unblock(name)
      announce(`Unblocked ${name}.`)
      await this.load()
      this.field.focus()
    } catch (err) {
      announce(`${name} could not be unblocked: ${explain(err)}`)
    }
  }

  private show(blocks: Block[]): void {
    this.names = new Set(blocks.map((b) => b.username.toLowerCase()))
    this.list.replaceChildren(
      ...blocks.map(({ username }) =>
        el(
          'li',
          {},
          el('span', {}, `${username} `),
          el('button', { class: 'link', attrs: { type: 'button', 'aria-label': `Unblock ${username}` }, on: { click: () => void this.unblock(username) } }, 'Unblock'),
        ),
      ),
    )
    this.changed()
  }
}
