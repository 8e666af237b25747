import { describe, expect, it } from 'vitest';
import { describeReport } from './shadow.js';

const empty = {
  percent: 0,
  ignore: [],
  since: null,
  compared: 0,
  matched: 0,
  mismatched: 0,
  mismatchRate: null,
  errors: 0,
  dropped: 0,
  skipped: 0,
  paths: [],
  samples: [],
};

describe('shadow report in words', () => {
  it('says a never shadowed flag is off and has compared nothing, instead of printing null or 0%', () => {
    const text = describeReport('movies', empty);
    expect(text).toContain('shadowing   off\n');
    expect(text).toContain('since       never set\n');
    expect(text).toContain('mismatched  0 (nothing compared yet)\n');
    expect(text).not.toMatch(/null|0%/);
  });

  it('lists every differing path with why it does not count, and points to the samples', () => {
    const text = describeReport('movies', {
      ...empty,
      percent: 10,
      ignore: ['$.served_at'],
      since: '2026-12-01T12:00:00.000Z',
      compared: 1000,
      matched: 970,
      mismatched: 30,
      mismatchRate: 0.03,
      paths: [
        { path: '$.rating', mismatches: 30, differed: 30, noise: 0, excluded: null },
        { path: '$.served_at', mismatches: 0, differed: 1000, noise: 100, excluded: 'ignore' },
      ],
      samples: [{}],
    });
    expect(text).toContain('shadowing   10% of GET and HEAD requests\n');
    expect(text).toContain('mismatched  30 (3%, noise and ignored paths left out)\n');
    expect(text.split('\n\n')[1]).toBe(
      [
        'PATH         MISMATCHES  DIFFERED  NOISE  EXCLUDED',
        '$.rating     30          30        0      -',
        '$.served_at  0           1000      100    ignore',
      ].join('\n'),
    );
    expect(text.endsWith('\n\n1 sample of mismatches: see --json')).toBe(true);
  });
});
