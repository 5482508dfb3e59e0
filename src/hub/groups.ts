/**
 * Values grouped by key, for the indexes a node keeps of its sockets (by user, by session). A key
 * with one value holds it alone and only a key with more holds a Set: nearly every user has one
 * socket on a node, and a Set costs an idle socket about 150 bytes. Values are never Sets themselves.
 */
export class Groups<K, V extends object> {
  private readonly byKey = new Map<K, V | Set<V>>()

  add(key: K, value: V): void {
    const held = this.byKey.get(key)
    if (held === undefined || held === value) this.byKey.set(key, value)
    else if (held instanceof Set) held.add(value)
    else this.byKey.set(key, new Set([held, value]))
  }

  /** Removes the value from its key's group, and the key with its last value. */
  delete(key: K, value: V): boolean {
    const held = this.byKey.get(key)
    if (held === value) return this.byKey.delete(key)
    if (!(held instanceof Set) || !held.delete(value)) return false
    if (held.size === 1) this.byKey.set(key, held.values().next().value as V)
    return true
  }

  /** The key's values; none for a key not held. */
  get(key: K): Iterable<V> {
    const held = this.byKey.get(key)
    return held === undefined ? [] : held instanceof Set ? held : [held]
  }

  keys(): IterableIterator<K> {
    return this.byKey.keys()
  }
}
