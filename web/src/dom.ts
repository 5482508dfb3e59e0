/**
 * The few DOM helpers the views share. Text is only ever set as text (text nodes, textContent):
 * nothing in this client parses a string as HTML, so a message cannot become markup.
 */

type Child = Node | string | false | null | undefined

export interface Props {
  class?: string
  /** Attributes; `false` or undefined leaves one out. */
  attrs?: Record<string, string | number | boolean | undefined>
  on?: { [K in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[K]) => void }
}

/** An element with its attributes, listeners and children; strings become text nodes. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag)
  if (props.class) element.className = props.class
  for (const [name, value] of Object.entries(props.attrs ?? {})) {
    if (value === false || value === undefined) continue
    element.setAttribute(name, value === true ? '' : String(value))
  }
  for (const [type, listener] of Object.entries(props.on ?? {})) element.addEventListener(type, listener as EventListener)
  for (const child of children) if (child !== false && child !== null && child !== undefined) element.append(child)
  return element
}

/** Text that screen readers read and screens do not show. */
export function spoken(text: string): HTMLSpanElement {
  return el('span', { class: 'visually-hidden' }, text)
}

/** The element of index.html with this id; a missing one, or one of another kind, is a bug in the markup. */
export function byId<T extends HTMLElement>(id: string, kind: new () => T): T {
  const element = document.getElementById(id)
  if (!(element instanceof kind)) throw new Error(`index.html has no ${kind.name} #${id}`)
  return element
}

/**
 * Keeps a list's children in the order of `items`, one element per key: made once, and drawn again
 * only when its `version` changes. The others are kept as they are, so focus, a half-typed edit and
 * the scroll position survive every update; focus in one drawn again moves to its first control.
 */
export function syncChildren<T>(
  parent: HTMLElement,
  items: readonly T[],
  spec: { key(item: T): string; version(item: T): string; draw(item: T): HTMLElement },
): void {
  const existing = new Map<string, HTMLElement>()
  for (const child of parent.children) if (child instanceof HTMLElement && child.dataset.key) existing.set(child.dataset.key, child)
  let cursor = parent.firstElementChild
  for (const item of items) {
    const key = spec.key(item)
    const version = spec.version(item)
    let element = existing.get(key)
    existing.delete(key)
    if (element?.dataset.version !== version) {
      const drawn = spec.draw(item)
      drawn.dataset.key = key
      drawn.dataset.version = version
      const hadFocus = element?.contains(document.activeElement) ?? false
      if (element) element.replaceWith(drawn)
      // A keyboard user stays where they were.
      if (hadFocus) (drawn.querySelector<HTMLElement>('button, textarea, input') ?? drawn).focus()
      if (cursor === element) cursor = drawn
      element = drawn
    }
    if (element === cursor) cursor = cursor.nextElementSibling
    else parent.insertBefore(element, cursor)
  }
  for (const stale of existing.values()) stale.remove()
}

/** Formats a count for people: 4,000. */
export const count = (n: number) => n.toLocaleString('en')

/** Runs `task` with the form's buttons disabled, so that one press makes one request. */
export async function whileBusy<T>(form: HTMLFormElement, task: () => Promise<T>): Promise<T> {
  const buttons = [...form.querySelectorAll('button')]
  form.setAttribute('aria-busy', 'true')
  for (const button of buttons) button.disabled = true
  try {
    return await task()
  } finally {
    form.removeAttribute('aria-busy')
    for (const button of buttons) button.disabled = false
  }
}

/** The first `max` characters of a text, on one line, for a label. */
export function excerpt(text: string, max = 40): string {
  const line = text.replace(/\s+/g, ' ').trim()
  const chars = [...line]
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : line
}
