/**
 * The ids of the latest processed events, bounded in bytes (oldest forgotten first): enough to recognise
 * a duplicate, which arrives soon after the original on the same partition (a retried publish, a
 * redelivery after a rebalance of this consumer).
 */
export class ProcessedIds {
  private readonly ids = new Set<string>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** True when `id` was seen already; otherwise remembers it. */
  seen(id: string): boolean {
    if (this.ids.has(id)) return true;
    const cost = idBytes(id);
    if (cost > this.maxBytes) return false;
    this.ids.add(id);
    this.bytes += cost;
    for (const oldest of this.ids) {
      if (this.bytes <= this.maxBytes) break;
      this.ids.delete(oldest);
      this.bytes -= idBytes(oldest);
    }
    return false;
  }

  size(): number {
    return this.bytes;
  }
}

// UTF-16 characters plus the Set entry's own cost, roughly.
const idBytes = (id: string) => 2 * id.length + 64;
