/**
 * The ids of the latest processed events, bounded in bytes (oldest forgotten first): enough to recognise
 * a duplicate, which arrives soon after the original on the same partition (a retried publish, a
 * redelivery after a rebalance of this consumer).
 */
export class ProcessedIds {
  private readonly ids = new Set<string>();
  // Insertion order, so the oldest is found in O(1): iterating a Set from its start would walk past every
  // entry deleted since its last rehash.
  private order: string[] = [];
  private head = 0;
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** True when `id` was seen already; otherwise remembers it. */
  seen(id: string): boolean {
    if (this.ids.has(id)) return true;
    const cost = idBytes(id);
    if (cost > this.maxBytes) return false;
    this.ids.add(id);
    this.order.push(id);
    this.bytes += cost;
    while (this.bytes > this.maxBytes) {
      const oldest = this.order[this.head++] as string;
      this.ids.delete(oldest);
      this.bytes -= idBytes(oldest);
    }
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
    return false;
  }

  size(): number {
    return this.bytes;
  }
}

// UTF-16 characters plus the Set entry and the order slot, roughly.
const idBytes = (id: string) => 2 * id.length + 72;
