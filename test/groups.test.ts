import t from 'tap'
import { Groups } from '../src/hub/groups.js'

t.test('values grouped by key: one alone, several together, each key gone with its last value', async (t) => {
  const groups = new Groups<number, { name: string }>()
  const [a, b, c] = [{ name: 'a' }, { name: 'b' }, { name: 'c' }]
  groups.add(1, a)
  groups.add(1, a)
  t.same([...groups.get(1)], [a], 'a value added twice is held once')
  groups.add(1, b)
  groups.add(2, c)
  t.same([...groups.get(1)], [a, b])
  t.same([...groups.keys()], [1, 2])
  t.notOk(groups.delete(1, c), 'a value not in the group')
  t.ok(groups.delete(1, a))
  t.same([...groups.get(1)], [b], 'the last value of a group is held alone again')
  groups.add(1, a)
  t.same([...groups.get(1)], [b, a])
  t.ok(groups.delete(1, b))
  t.ok(groups.delete(1, a))
  t.same([...groups.get(1)], [], 'none for a key not held')
  t.same([...groups.keys()], [2], 'the key went with its last value')
})
