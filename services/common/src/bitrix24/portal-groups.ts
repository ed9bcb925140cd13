/**
 * Work for one portal that arrives together goes out together: items wait a short linger, then
 * leave in groups (one `batch` request of the portal's 2-per-second budget for many items), one
 * group at a time per portal. Each group holds distinct keys (one negotiation is never in a group
 * twice: a second item for it waits for the next group) and, when items have a size, fits a budget.
 */
export interface PortalGroupsOptions<T> {
  lingerMs: number;
  /**
   * A first item that finds its portal without work for this long goes at once: nothing streams in
   * behind it, so a linger would only delay it (items that come while its group is out still wait
   * and leave together). Unset: every first item lingers.
   */
  idleMs?: number;
  maxItems: number;
  key: (item: T) => string;
  /** The bytes an item adds to the request, and the most a group may carry (the first item always goes). */
  size?: (item: T) => number;
  maxBytes?: number;
  /** Does the group's work; it settles every item of the group itself. */
  run: (memberId: string, group: T[]) => Promise<void>;
  /** Settles the items of a group whose `run` threw. */
  fail: (group: T[], error: unknown) => void;
}

export class PortalGroups<T> {
  private readonly queues = new Map<string, T[]>();
  private readonly draining = new Set<string>();
  /** When each portal's last drain ended. */
  private readonly ended = new Map<string, number>();

  constructor(private readonly o: PortalGroupsOptions<T>) {}

  add(memberId: string, item: T): void {
    const queue = this.queues.get(memberId) ?? [];
    queue.push(item);
    this.queues.set(memberId, queue);
    if (!this.draining.has(memberId)) void this.drain(memberId);
  }

  private async drain(memberId: string): Promise<void> {
    this.draining.add(memberId);
    try {
      const idle =
        this.o.idleMs !== undefined && Date.now() - (this.ended.get(memberId) ?? 0) >= this.o.idleMs;
      // Idle: only the items added in the same turn of the event loop join the first group.
      await new Promise((r) => (idle ? setImmediate(r) : setTimeout(r, this.o.lingerMs)));
      for (;;) {
        const queue = this.queues.get(memberId) ?? [];
        if (queue.length === 0) break;
        const group = this.take(queue);
        await this.o.run(memberId, group).catch((error: unknown) => this.o.fail(group, error));
      }
    } finally {
      this.draining.delete(memberId);
      this.queues.delete(memberId);
      this.ended.set(memberId, Date.now());
    }
  }

  /** Takes the next group out of the queue; what does not fit stays, in order, for the next one. */
  private take(queue: T[]): T[] {
    const group: T[] = [];
    const keys = new Set<string>();
    let bytes = 0;
    for (let i = 0; i < queue.length && group.length < this.o.maxItems;) {
      const item = queue[i]!;
      const size = this.o.size?.(item) ?? 0;
      const over = this.o.maxBytes !== undefined && group.length > 0 && bytes + size > this.o.maxBytes;
      if (keys.has(this.o.key(item)) || over) {
        i++;
        continue;
      }
      group.push(item);
      keys.add(this.o.key(item));
      bytes += size;
      queue.splice(i, 1);
    }
    return group;
  }
}
