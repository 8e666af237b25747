import { collectDefaultMetrics, Registry } from 'prom-client';

export type Labels = Readonly<Record<string, string | number>>;

/** One line of a family: its name when it is not the family's (`…_bucket`), its labels and its value. */
export interface Sample {
  name?: string;
  labels?: Labels;
  value: number;
}

/**
 * A metric family that a part of the gateway counts in its own form (plain numbers on the request path,
 * where prom-client's label hashing cost throughput) and hands over when /metrics is scraped.
 */
export interface MetricFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  samples: Sample[];
}

export type Collector = () => MetricFamily[];

const escapeLabel = (value: string) => value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
const escapeHelp = (text: string) => text.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));

function formatLabels(labels: Labels | undefined): string {
  if (!labels) return '';
  const pairs = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabel(String(value))}"`);
  return pairs.length > 0 ? `{${pairs.join(',')}}` : '';
}

/** The families in the Prometheus text format; every label value and help text is escaped here. */
export function renderFamilies(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const { name, help, type, samples } of families) {
    lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    for (const sample of samples)
      lines.push(`${sample.name ?? name}${formatLabels(sample.labels)} ${sample.value}`);
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/**
 * The gateway's one exposition: every part registers its metrics here, on the prom-client registry
 * (process metrics, flag gauges, fallbacks) or as a collector of families it counts itself, and GET
 * /metrics is `render()`. A registry of its own per app, so several apps can live in one test process.
 */
export class Exposition {
  readonly registry = new Registry();
  private readonly collectors: Collector[] = [];

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  register(collector: Collector): void {
    this.collectors.push(collector);
  }

  async render(): Promise<string> {
    return `${await this.registry.metrics()}\n${renderFamilies(this.collectors.flatMap((collect) => collect()))}`;
  }
}
