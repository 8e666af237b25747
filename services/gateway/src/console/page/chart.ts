import type { Traffic } from './api.js';
import { h, svg } from './dom.js';

const WIDTH = 300;
const HEIGHT = 80;

/** Requests per second to each side, one point per sample, on a shared scale. */
export function splitChart(traffic: Traffic): HTMLElement {
  const rate = (requests: number, seconds: number) => (seconds > 0 ? requests / seconds : 0);
  const series = (['old', 'new'] as const).map((side) =>
    traffic.samples.map((sample) => rate(sample[side].requests, sample.seconds)),
  );
  const top = Math.max(1, ...series.flat());
  const last = Math.max(1, traffic.samples.length - 1);
  const line = (values: number[], side: string) =>
    svg('polyline', {
      class: `line ${side}`,
      fill: 'none',
      points: values
        .map(
          (value, i) =>
            `${((i / last) * WIDTH).toFixed(1)},${(HEIGHT - (value / top) * (HEIGHT - 4)).toFixed(1)}`,
        )
        .join(' '),
    });
  const minutes = Math.round((traffic.samples.length * traffic.stepMs) / 60_000);
  const chart = svg(
    'svg',
    {
      class: 'chart',
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      preserveAspectRatio: 'none',
      role: 'img',
      'aria-label': `requests per second to each side over the last ${minutes} minutes`,
    },
    svg('title', {}, `requests per second, last ${minutes} min; top of the scale ${top.toFixed(1)} req/s`),
    svg('line', { class: 'axis', x1: 0, y1: HEIGHT - 0.5, x2: WIDTH, y2: HEIGHT - 0.5 }),
    line(series[0]!, 'old'),
    line(series[1]!, 'new'),
  );
  return h(
    'figure',
    { class: 'split' },
    chart,
    h(
      'figcaption',
      { class: 'muted' },
      h('span', { class: 'swatch old' }, 'old'),
      ' ',
      h('span', { class: 'swatch new' }, 'new'),
      ` req/s per ${traffic.stepMs / 1000} s, last ${minutes} min; top ${top.toFixed(1)}/s`,
    ),
  );
}
