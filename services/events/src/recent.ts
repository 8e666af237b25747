import type { EventType } from './events.js';

export interface ProcessedEvent {
  id: string;
  type: EventType;
  timestamp: string;
  payload: Record<string, unknown>;
  topic: string;
  partition: number;
  offset: string;
  processed_at: string;
  /** From the producer's timestamp to the end of processing. */
  produce_to_consume_ms: number;
}

// What an entry holds beside its event's JSON: the topic, offsets, times and the ring's own slot.
const entryOverheadBytes = 256;

/**
 * The latest processed events, the visible proof of the round trip: at most `capacity` of them and at most
 * `maxBytes` of their JSON; the oldest go first. An event larger than the whole budget is not kept.
 */
export class RecentEvents {
  private readonly ring: Array<{ event: ProcessedEvent; bytes: number } | undefined> = [];
  private first = 0;
  private count = 0;
  private bytes = 0;

  constructor(
    readonly capacity: number,
    readonly maxBytes = Number.POSITIVE_INFINITY,
  ) {}

  /** `jsonBytes`: the event's size as consumed; computed when left out. */
  add(event: ProcessedEvent, jsonBytes = Buffer.byteLength(JSON.stringify(event))): void {
    const bytes = jsonBytes + entryOverheadBytes;
    if (bytes > this.maxBytes) return;
    while (this.count === this.capacity || this.bytes + bytes > this.maxBytes) this.dropOldest();
    this.ring[(this.first + this.count) % this.capacity] = { event, bytes };
    this.count++;
    this.bytes += bytes;
  }

  /** Bytes held, as counted against maxBytes. */
  size(): number {
    return this.bytes;
  }

  /** Newest first, optionally of one type. */
  latest(limit: number, type?: EventType): ProcessedEvent[] {
    const result: ProcessedEvent[] = [];
    for (let i = this.count - 1; i >= 0 && result.length < limit; i--) {
      const event = this.ring[(this.first + i) % this.capacity]?.event;
      if (event && (!type || event.type === type)) result.push(event);
    }
    return result;
  }

  private dropOldest(): void {
    const oldest = this.ring[this.first];
    this.ring[this.first] = undefined;
    this.first = (this.first + 1) % this.capacity;
    this.count--;
    this.bytes -= oldest?.bytes ?? 0;
  }
}
