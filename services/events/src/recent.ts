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

/** The latest processed events, in a fixed-size ring: the visible proof of the round trip. */
export class RecentEvents {
  private readonly ring: ProcessedEvent[] = [];
  private next = 0;

  constructor(readonly capacity: number) {}

  add(event: ProcessedEvent): void {
    this.ring[this.next] = event;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Newest first, optionally of one type. */
  latest(limit: number, type?: EventType): ProcessedEvent[] {
    const result: ProcessedEvent[] = [];
    for (let i = 1; i <= this.ring.length && result.length < limit; i++) {
      const event = this.ring[(this.next - i + this.capacity) % this.capacity];
      if (event && (!type || event.type === type)) result.push(event);
    }
    return result;
  }
}
