import t from 'tap';
import { PortalGroups } from '@hhb24/common';

interface Item {
  key: string;
  bytes: number;
  done: (v: string) => void;
}

t.test(
  'items of one portal leave in groups: distinct keys, at most maxItems, within the byte budget, one group at a time',
  async (t) => {
    const groups: string[][] = [];
    let running = 0;
    let overlapped = false;
    const g = new PortalGroups<Item>({
      lingerMs: 20,
      maxItems: 3,
      key: (i) => i.key,
      size: (i) => i.bytes,
      maxBytes: 100,
      run: async (memberId, group) => {
        overlapped ||= running > 0;
        running++;
        groups.push(group.map((i) => `${memberId}:${i.key}`));
        await new Promise((r) => setTimeout(r, 10));
        running--;
        group.forEach((i) => i.done(memberId));
      },
      fail: () => t.fail('no group fails here'),
    });
    const add = (memberId: string, key: string, bytes = 10) =>
      new Promise<string>((done) => g.add(memberId, { key, bytes, done }));
    const all = [
      add('a', 'n1'),
      add('a', 'n2'),
      add('a', 'n1'),
      add('a', 'n3', 90),
      add('a', 'n4'),
      add('b', 'n1'),
      add('a', 'big', 500),
    ];
    t.same(await Promise.all(all), ['a', 'a', 'a', 'a', 'a', 'b', 'a'], 'every item is settled by its group');
    const ofA = groups.filter((x) => x[0]!.startsWith('a:'));
    t.same(
      ofA[0],
      ['a:n1', 'a:n2', 'a:n4'],
      'a repeated key and what would break the budget wait; the rest fill the group',
    );
    t.same(ofA.slice(1), [['a:n1', 'a:n3'], ['a:big']], 'then in order; an item over the budget goes alone');
    t.same(
      groups.find((x) => x[0]!.startsWith('b:')),
      ['b:n1'],
      'another portal has groups of its own',
    );
    t.notOk(
      groups.some((x) => x.length > 3),
      'never more than maxItems',
    );
    t.ok(overlapped, 'two portals are drained at the same time');
  },
);

t.test('a group whose work throws is settled by fail, and the portal drains on', async (t) => {
  const failed: string[] = [];
  let first = true;
  const g = new PortalGroups<Item>({
    lingerMs: 5,
    maxItems: 1,
    key: (i) => i.key,
    run: async (_m, group) => {
      if (first) {
        first = false;
        throw new Error('portal down');
      }
      group.forEach((i) => i.done('ok'));
    },
    fail: (group, err) => group.forEach((i) => (failed.push(i.key), i.done((err as Error).message))),
  });
  const add = (key: string) => new Promise<string>((done) => g.add('a', { key, bytes: 0, done }));
  t.same(await Promise.all([add('x'), add('y')]), ['portal down', 'ok']);
  t.same(failed, ['x']);
});

t.test(
  'a first item that finds its portal idle goes at once; while items stream in, they linger',
  async (t) => {
    const started: Array<{ keys: string[]; at: number }> = [];
    const g = new PortalGroups<Item>({
      lingerMs: 300,
      idleMs: 1000,
      maxItems: 10,
      key: (i) => i.key,
      run: async (_m, group) => {
        started.push({ keys: group.map((i) => i.key), at: Date.now() });
        group.forEach((i) => i.done('ok'));
      },
      fail: () => t.fail('no group fails here'),
    });
    const add = (key: string) => new Promise<string>((done) => g.add('a', { key, bytes: 0, done }));
    let from = Date.now();
    await Promise.all([add('n1'), add('n2')]);
    t.same(started[0]!.keys, ['n1', 'n2'], 'items added in the same turn still leave together');
    t.ok(
      started[0]!.at - from < 150,
      `the idle portal's first group did not linger (${started[0]!.at - from} ms)`,
    );
    await new Promise((r) => setTimeout(r, 20));
    from = Date.now();
    const late = add('n3');
    await new Promise((r) => setTimeout(r, 50));
    await Promise.all([late, add('n4')]);
    t.same(started[1]!.keys, ['n3', 'n4'], 'right after a group, the next item lingers and others join it');
    t.ok(started[1]!.at - from >= 290, `it waited the linger (${started[1]!.at - from} ms)`);
  },
);
