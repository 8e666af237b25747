/** A range query's series: labels and [unix seconds, value] pairs, as /api/v1/query_range answers. */
export interface RangeSeries {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}

const WIDTH = 800;
const HEIGHT = 360;
const PAD = { left: 56, right: 170, top: 40, bottom: 44 };
const COLOURS: Record<string, string> = { old: '#1f77b4', new: '#d62728' };
const xml = (text: string) => text.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The "Traffic split" panel of the dashboard drawn as an SVG line chart (shares from 0 to 100 % over the
 * seconds of the range): the Prometheus built with go install serves no web UI to take a screenshot of.
 */
export function renderSplitSvg(series: RangeSeries[], flag: string): string {
  const times = series.flatMap((s) => s.values.map(([t]) => t));
  const start = Math.min(...times);
  const span = Math.max(1, Math.max(...times) - start);
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (t: number) => PAD.left + ((t - start) / span) * plotW;
  const y = (share: number) => PAD.top + (1 - Math.min(1, Math.max(0, share))) * plotH;

  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${PAD.left}" y="22" font-size="15" font-weight="bold">Traffic split of flag ${xml(flag)} during a rollout that rolls back</text>`,
  ];
  for (const share of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(
      `<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${y(share)}" y2="${y(share)}" stroke="#dddddd"/>`,
      `<text x="${PAD.left - 8}" y="${y(share) + 4}" text-anchor="end">${share * 100} %</text>`,
    );
  }
  const step = span > 60 ? 30 : span > 20 ? 10 : 5;
  for (let s = 0; s <= span; s += step) {
    parts.push(`<text x="${x(start + s)}" y="${PAD.top + plotH + 18}" text-anchor="middle">${s} s</text>`);
  }
  parts.push(
    `<text x="${PAD.left + plotW / 2}" y="${HEIGHT - 6}" text-anchor="middle">seconds since the rollout started (Prometheus range query, 1 s step)</text>`,
  );
  series.forEach((s, i) => {
    const name = s.metric.side ?? 'flag percent (new)';
    const colour = COLOURS[s.metric.side ?? ''] ?? '#7f7f7f';
    const dash = s.metric.side ? '' : ' stroke-dasharray="6 4"';
    const points = s.values
      .filter(([, v]) => Number.isFinite(Number(v)))
      .map(([t, v]) => `${x(t).toFixed(1)},${y(Number(v)).toFixed(1)}`)
      .join(' ');
    parts.push(
      `<polyline fill="none" stroke="${colour}" stroke-width="2"${dash} points="${points}"/>`,
      `<line x1="${WIDTH - PAD.right + 16}" x2="${WIDTH - PAD.right + 40}" y1="${PAD.top + 10 + i * 20}" y2="${PAD.top + 10 + i * 20}" stroke="${colour}" stroke-width="2"${dash}/>`,
      `<text x="${WIDTH - PAD.right + 46}" y="${PAD.top + 14 + i * 20}">${xml(name)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
