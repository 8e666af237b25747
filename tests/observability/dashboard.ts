import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../deploy/tools.js';

interface Ref {
  type: string;
  uid: string;
}
export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: Ref;
  gridPos: { x: number; y: number; w: number; h: number };
  targets: Array<{ refId: string; expr: string; datasource: Ref }>;
}
export interface Dashboard {
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: unknown; datasource?: Ref }> };
  annotations: { list: Array<{ name: string; builtIn?: number; expr?: string; datasource: Ref }> };
}

export const dashboardFile = join(repoRoot, 'deploy/grafana/cinemaabyss-migration.json');
export const dashboard: Dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8'));

/** The panels under the row titled `title`, up to the next row. */
export function panelsOfRow(title: string): Panel[] {
  const start = dashboard.panels.findIndex((p) => p.type === 'row' && p.title === title);
  const next = dashboard.panels.findIndex((p, i) => i > start && p.type === 'row');
  return dashboard.panels.slice(start + 1, next === -1 ? undefined : next);
}

/** Every PromQL query of the dashboard: each panel's targets and the Prometheus annotations. */
export function dashboardQueries(): Array<{ title: string; expr: string }> {
  const panels = dashboard.panels
    .filter((p) => p.type !== 'row')
    .flatMap((p) => p.targets.map((t) => ({ title: `${p.title} ${t.refId}`, expr: t.expr })));
  const annotations = dashboard.annotations.list
    .filter((a) => a.expr !== undefined)
    .map((a) => ({ title: `annotation ${a.name}`, expr: a.expr! }));
  return [...panels, ...annotations];
}

/** Grafana's variables, as Grafana would fill them in: one flag, a rate window and a step. */
export function substitute(expr: string, flag: string, rateInterval = '1m', interval = '5m'): string {
  return expr
    .replaceAll('$__rate_interval', rateInterval)
    .replaceAll('$__interval', interval)
    .replaceAll('$flag', flag);
}
