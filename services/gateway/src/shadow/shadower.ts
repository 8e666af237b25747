import type { IncomingHttpHeaders } from 'node:http';
import { type Answer, compareAnswers } from './compare.js';
import type { Fetched, Mirror } from './mirror.js';
import type { ShadowRecorder } from './recorder.js';
import type { ShadowSettings } from './settings.js';

export interface ShadowInput {
  flag: string;
  /** The flag's shadow settings as the flag store holds them now. */
  settings: ShadowSettings;
  method: string;
  /** Path and query. */
  url: string;
  /** Headers as the gateway forwards them. */
  headers: IncomingHttpHeaders;
  /** The stickiness header's value, kept in mismatch samples. */
  userId: string | undefined;
  /** Origin (`http://host:port`) of the side the decision chose, and of the other side. */
  chosenOrigin: string;
  otherOrigin: string;
  /** Whether the chosen side is the migration's new side. */
  chosenIsNew: boolean;
}

/** A shadowed request in progress; exactly one of its methods should be called, once. */
export interface ShadowRun {
  /** The chosen side's answer as the client got it ('skipped' when its body was larger than the bound). */
  chosen(answer: Answer | 'skipped'): void;
  /** The chosen side failed or the client left: nothing is compared or counted. */
  abandon(): void;
}

export interface ShadowerOptions {
  mirror: Mirror;
  recorder: ShadowRecorder;
  maxBodyBytes: number;
  /** 1 in this many shadowed requests also asks the chosen side a second time (the noise probe). */
  noiseEvery: number;
  /** A run whose chosen answer has not come after this long is abandoned (its slots are released). */
  holdMs: number;
  random?: () => number;
}

/**
 * Decides which requests are shadowed and sees each one through: the copy to the other side (and, 1 in
 * `noiseEvery`, a second copy to the chosen side) starts with the client's request, the comparison runs
 * when the chosen answer has been sent, and the outcome is recorded; the mirror's slots are held until
 * then. Nothing here can fail or delay the client's request: begin() is synchronous, and what follows
 * is never awaited by the proxy.
 */
export class Shadower {
  private shadowed = 0;
  private readonly random: () => number;

  constructor(private readonly options: ShadowerOptions) {
    this.random = options.random ?? Math.random;
  }

  /** Starts shadowing the request if it is eligible and sampled; undefined otherwise. */
  begin(input: ShadowInput): ShadowRun | undefined {
    const { percent } = input.settings;
    if (percent <= 0) return undefined;
    // Writes are never shadowed: a copy of a POST would perform it twice.
    if (input.method !== 'GET' && input.method !== 'HEAD') return undefined;
    if (percent < 100 && this.random() * 100 >= percent) return undefined;
    const { mirror, recorder, holdMs } = this.options;
    const slot = mirror.reserve();
    if (!slot) {
      recorder.count(input.flag, input.settings.since, 'dropped');
      return undefined;
    }
    // The first shadowed request probes, so noise is known from the start; the probe gives way to the cap.
    const probeSlot = this.shadowed++ % this.options.noiseEvery === 0 ? mirror.reserve() : undefined;
    const request = { method: input.method, path: input.url, headers: input.headers } as const;
    const shadow = slot.fetch(input.otherOrigin, request);
    const probe = probeSlot?.fetch(input.chosenOrigin, request);
    let done = false;
    const settle = (answer: Answer | 'skipped' | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const compared = answer === undefined ? Promise.resolve() : this.finish(input, answer, shadow, probe);
      // The slots are given back once the copies are answered and compared, never before.
      void Promise.allSettled([compared, shadow, probe]).then(() => {
        slot.release();
        probeSlot?.release();
      });
    };
    // A chosen answer that never comes (a path of the proxy that forgot the run) must not hold slots.
    const timer = setTimeout(() => settle(undefined), holdMs);
    timer.unref();
    return { chosen: settle, abandon: () => settle(undefined) };
  }

  private async finish(
    input: ShadowInput,
    chosen: Answer | 'skipped',
    shadow: Promise<Fetched>,
    probe: Promise<Fetched> | undefined,
  ): Promise<void> {
    const { recorder, maxBodyBytes } = this.options;
    const { flag, settings } = input;
    const [fetched, probed] = await Promise.all([shadow, probe]);
    // Noise first, so this comparison already leaves out what the probe found.
    if (chosen !== 'skipped' && probed && 'answer' in probed) {
      const noise = compareAnswers(chosen, probed.answer, maxBodyBytes);
      if (noise !== 'skipped') recorder.noise(flag, settings.since, noise);
    }
    if ('failed' in fetched) {
      recorder.count(flag, settings.since, fetched.failed);
      return;
    }
    if (chosen === 'skipped') {
      recorder.count(flag, settings.since, 'skipped');
      return;
    }
    const [old, now] = input.chosenIsNew ? [fetched.answer, chosen] : [chosen, fetched.answer];
    const differences = compareAnswers(old, now, maxBodyBytes);
    if (differences === 'skipped') {
      recorder.count(flag, settings.since, 'skipped');
      return;
    }
    recorder.compared(
      flag,
      settings.since,
      settings.ignore,
      differences,
      { old: old.status, new: now.status },
      {
        method: input.method,
        url: input.url,
        userId: input.userId,
        chosen: input.chosenIsNew ? 'new' : 'old',
      },
    );
  }
}
