import type {
  Api,
  DataStatus,
  Decision,
  Flag,
  HistoryEntry,
  Recorded,
  Rollout,
  ShadowReport,
  Stats,
  Traffic,
  VerifyRequest,
} from './api.js';
import { splitChart } from './chart.js';
import { type Child, confirmAction, dateTime, h, percent, table, time } from './dom.js';
import { PLAN_DEFAULTS } from './plan-defaults.js';

/** A read that may have failed: its section shows the gateway's words instead of the data. */
export type Read<T> = { ok: true; value: T } | { ok: false; error: string };

export interface FlagData {
  flag: Flag;
  rollout: Read<Rollout | null>;
  shadow: Read<ShadowReport>;
  history: Read<HistoryEntry[]>;
  /** Read less often than the rest; the last one read stays shown meanwhile. */
  traffic?: Read<Traffic>;
  /** The status of the flag's data domain; absent for a flag without one (its panel stays hidden). */
  data?: Read<DataStatus>;
}

export interface CardContext {
  api: Api;
  /** A viewer's console: everything shown, every action disabled. */
  readOnly: boolean;
  /** Reads everything again now, after an action. */
  refresh: () => void;
}

const ACTIVE = ['running', 'paused'];
const ids = (text: string) => text.split(/[\s,]+/).filter((id) => id !== '');
const field = (name: string, tag: 'span' | 'div' = 'div', ...children: Child[]) =>
  h(tag, { 'data-field': name }, ...children);
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** One flag's card: built once, its sections refilled on every read so the forms keep what is typed. */
export class FlagCard {
  readonly root: HTMLElement;
  private readonly message = field('message');
  private readonly percent = field('percent', 'span');
  private readonly effective = field('effective-percent', 'span');
  private readonly routes = field('routes', 'span');
  private readonly chart = field('chart');
  private readonly sides = field('sides');
  private readonly shadow = field('shadow');
  private readonly rolloutState = field('rollout-state', 'span', 'none');
  private readonly rollout = field('rollout');
  private readonly history = field('history');
  private readonly dataDomain = field('data-domain', 'span');
  private readonly data = field('data');
  private readonly dataPanel: HTMLElement;
  private readonly allow = h('textarea', { name: 'allow', rows: 2, spellcheck: 'false' });
  private readonly deny = h('textarea', { name: 'deny', rows: 2, spellcheck: 'false' });
  /** The lists as last read, to refill the text areas only while the user has not edited them. */
  private shown = { allow: '', deny: '' };
  private readonly controls: Array<{ button: HTMLButtonElement; when: () => boolean }> = [];
  private state = 'none';
  /** The flag's data domain (the routing policy's `data`), null while it has none. */
  private domain: string | null = null;

  constructor(
    private readonly name: string,
    private readonly context: CardContext,
  ) {
    const percentInput = h('input', { name: 'percent', type: 'number', min: 0, max: 100, step: 1 });
    const shadowInput = h('input', { name: 'shadow-percent', type: 'number', min: 1, max: 100, value: 10 });
    const plan = PLAN_DEFAULTS;
    const planInputs = {
      steps: h('input', { name: 'steps', value: plan.steps.join(', ') }),
      intervalMs: h('input', { name: 'intervalMs', type: 'number', value: plan.intervalMs }),
      minRequests: h('input', { name: 'minRequests', type: 'number', value: plan.minRequests }),
      maxErrorRateIncrease: h('input', {
        name: 'maxErrorRateIncrease',
        type: 'number',
        step: 'any',
        value: plan.maxErrorRateIncrease,
      }),
      maxLatencyRatio: h('input', {
        name: 'maxLatencyRatio',
        type: 'number',
        step: 'any',
        value: plan.maxLatencyRatio,
      }),
      latencyFloorMs: h('input', { name: 'latencyFloorMs', type: 'number', value: plan.latencyFloorMs }),
      maxMismatchRate: h('input', {
        name: 'maxMismatchRate',
        type: 'number',
        step: 'any',
        placeholder: 'off',
      }),
    };
    const labelled = (text: string, input: HTMLElement) => h('label', {}, h('span', {}, text), input);
    const path = (rest = '') => context.api.flagPath(name, rest);
    const api = context.api;

    const percentForm = this.form(
      [labelled('Percent to the new side', percentInput)],
      this.button('set-percent', 'Set percent', () => true),
      () => {
        const value = percentInput.value.trim();
        if (value === '') return this.show('enter a percent from 0 to 100', 'error');
        const next = Number(value);
        return this.act(`Send ${next} % of "${name}" to the new side?`, `percent set to ${next}`, () =>
          api.call('PUT', path(), { percent: next }),
        );
      },
    );
    const listsForm = this.form(
      [
        labelled('Always new (allow): user ids', this.allow),
        labelled('Never new (deny): user ids', this.deny),
      ],
      this.button('save-lists', 'Save lists', () => true),
      () => {
        const allow = ids(this.allow.value);
        const deny = ids(this.deny.value);
        return this.act(
          `Replace the lists of "${name}": ${allow.length} allowed, ${deny.length} denied?`,
          'lists saved',
          () => api.call('PUT', path(), { allow, deny }),
        );
      },
    );
    const shadowForm = this.form(
      [labelled('Shadow percent', shadowInput)],
      this.button('start-shadow', 'Start shadowing', () => true),
      () => {
        const next = Number(shadowInput.value.trim());
        return this.act(
          `Shadow ${next} % of the eligible requests of "${name}"?`,
          `shadowing ${next} %`,
          () => api.call('PUT', path('/shadow'), { percent: next }),
        );
      },
    );
    const stopShadow = this.button('stop-shadow', 'Stop shadowing', () => true, 'button');
    stopShadow.addEventListener('click', () =>
      this.act(`Stop shadowing "${name}"?`, 'shadowing stopped', () =>
        api.call('PUT', path('/shadow'), { percent: 0 }),
      ),
    );
    shadowForm.append(stopShadow);

    const rolloutButtons = h('div', { class: 'buttons' });
    const actions = [
      ['pause', 'Pause', ['running']],
      ['resume', 'Resume', ['paused']],
      ['promote', 'Promote', ACTIVE],
      ['abort', 'Abort', ACTIVE],
    ] as const;
    for (const [action, label, states] of actions) {
      const button = this.button(action, label, () => states.includes(this.state as never), 'button');
      if (action === 'abort') button.classList.add('danger');
      button.addEventListener('click', () =>
        this.act(
          `${label} the rollout of "${name}"?${action === 'abort' ? ' The flag goes back to 0 %.' : ''}`,
          `rollout: ${action} done`,
          () => api.call('POST', path(`/rollout/${action}`)),
        ),
      );
      rolloutButtons.append(button);
    }
    const startForm = this.form(
      Object.entries(planInputs).map(([key, input]) => labelled(key, input)),
      this.button('start-rollout', 'Start rollout', () => !ACTIVE.includes(this.state)),
      () => {
        const plan: Record<string, unknown> = { steps: ids(planInputs.steps.value).map(Number) };
        for (const [key, input] of Object.entries(planInputs))
          if (key !== 'steps' && input.value.trim() !== '') plan[key] = Number(input.value);
        return this.act(
          `Start a rollout of "${name}" through ${ids(planInputs.steps.value).join(', ')} %?`,
          'rollout started',
          () => api.call('POST', path('/rollout'), plan),
        );
      },
    );

    // The data panel: shown once the flag turns out to have a data domain (update), for any role.
    const verify = this.button('verify-data', 'Verify now', () => this.domain !== null, 'button');
    verify.addEventListener('click', () => {
      const domain = this.domain;
      if (domain === null) return;
      void this.act(
        `Run a full parity check of the "${domain}" data now? It reads every row of both databases.`,
        (answer) => {
          const heard = (answer as VerifyRequest).receivers;
          return heard > 0
            ? { text: `parity check of ${domain} requested; its result shows under "parity"`, kind: 'ok' }
            : { text: `no sync process of ${domain} is listening: no check will run`, kind: 'error' };
        },
        () => api.call('POST', api.dataPath(domain, '/verify')),
      );
    });
    this.dataPanel = h(
      'section',
      { 'data-panel': 'data', hidden: true },
      h('h3', {}, 'Data ', this.dataDomain),
      this.data,
      h('div', { class: 'buttons' }, verify),
    );

    this.root = h(
      'section',
      { class: 'card', 'data-flag': name },
      h('header', {}, h('h2', {}, name), h('p', { class: 'muted' }, 'routes ', this.routes)),
      this.message,
      h(
        'div',
        { class: 'grid' },
        h(
          'section',
          {},
          h('h3', {}, 'Split'),
          h(
            'p',
            { class: 'big' },
            this.percent,
            ' % to the new side',
            h('span', { class: 'muted' }, ' · effective ', this.effective, ' %'),
          ),
          this.chart,
          this.sides,
          percentForm,
          listsForm,
        ),
        h('section', {}, h('h3', {}, 'Shadow comparison'), this.shadow, shadowForm),
        h(
          'section',
          {},
          h('h3', {}, 'Rollout ', this.rolloutState),
          this.rollout,
          rolloutButtons,
          h('details', {}, h('summary', {}, 'Start a rollout'), startForm),
        ),
        this.dataPanel,
        h('section', {}, h('h3', {}, 'History'), this.history),
      ),
    );
    for (const input of this.root.querySelectorAll('input, textarea'))
      (input as HTMLInputElement).disabled = context.readOnly;
    this.enable();
  }

  update(data: FlagData): void {
    const { flag } = data;
    this.percent.textContent = String(flag.percent);
    this.effective.textContent = String(flag.effectivePercent);
    this.routes.textContent = flag.routes.length > 0 ? flag.routes.join(', ') : 'none';
    this.refill('allow', flag.allow);
    this.refill('deny', flag.deny);
    if (data.traffic)
      this.fill([this.chart, this.sides], data.traffic, (t) => [splitChart(t), sidesTable(t)]);
    this.fill([this.shadow], data.shadow, (report) => [shadowView(report)]);
    this.fill([this.history], data.history, (entries) => [historyTable(entries)]);
    this.fill([this.rollout], data.rollout, (rollout) => [rolloutView(rollout)]);
    this.domain = flag.data;
    this.dataPanel.hidden = flag.data === null;
    this.dataDomain.textContent = flag.data ?? '';
    if (data.data) this.fill([this.data], data.data, (status) => [dataView(status)]);
    this.state = data.rollout.ok ? (data.rollout.value?.state ?? 'none') : this.state;
    this.rolloutState.textContent = this.state;
    this.rolloutState.className = `state ${this.state}`;
    this.enable();
  }

  private fill<T>(targets: HTMLElement[], read: Read<T>, render: (value: T) => Node[]): void {
    if (!read.ok) {
      targets[0]!.replaceChildren(h('p', { class: 'error' }, read.error));
      for (const target of targets.slice(1)) target.replaceChildren();
      return;
    }
    for (const [i, node] of render(read.value).entries()) targets[i]!.replaceChildren(node);
  }

  private refill(list: 'allow' | 'deny', value: string[]): void {
    const text = value.join('\n');
    const area = this[list];
    if (area.value === this.shown[list] && document.activeElement !== area) area.value = text;
    this.shown[list] = text;
  }

  private enable(): void {
    for (const { button, when } of this.controls) button.disabled = this.context.readOnly || !when();
  }

  private button(
    action: string,
    label: string,
    when: () => boolean,
    type: 'submit' | 'button' = 'submit',
  ): HTMLButtonElement {
    const button = h('button', { type, 'data-action': action }, label);
    this.controls.push({ button, when });
    return button;
  }

  private form(fields: HTMLElement[], submit: HTMLButtonElement, onSubmit: () => unknown): HTMLFormElement {
    // novalidate: the gateway judges the input and its words are shown.
    const form = h('form', { class: 'action', novalidate: true }, ...fields, submit);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void onSubmit();
    });
    return form;
  }

  private async act(
    question: string,
    done: string | ((answer: unknown) => { text: string; kind: 'ok' | 'error' }),
    run: () => Promise<unknown>,
  ): Promise<void> {
    if (this.context.readOnly || !(await confirmAction(question))) return;
    try {
      const answer = await run();
      const said = typeof done === 'string' ? { text: done, kind: 'ok' as const } : done(answer);
      this.show(said.text, said.kind);
    } catch (error) {
      this.show(messageOf(error), 'error');
    }
    this.context.refresh();
  }

  private show(text: string, kind: 'ok' | 'error'): void {
    this.message.textContent = `${this.name}: ${text}`;
    this.message.className = `message ${kind}`;
    this.message.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  }
}

const KIB = 1024;
/** 1048576 → `1.0 MiB`. */
function bytes(value: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let shown = value;
  let unit = 0;
  while (shown >= KIB && unit < units.length - 1) {
    shown /= KIB;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${shown.toFixed(1)} ${units[unit]}`;
}
const ms = (value: number | null) => (value === null ? 'not measured' : `${Math.round(value)} ms`);

/** The data domain's status: the copy's lag, the WAL the slot keeps, the last parity pass, the connector. */
function dataView(s: DataStatus): HTMLElement {
  const { parity } = s;
  const counts =
    parity.rows === null
      ? ''
      : ` · ${parity.rows} rows: ${parity.mismatched} mismatched, ${parity.missing} missing, ${parity.extra} extra`;
  const row = (label: string, name: string, ...value: Child[]) =>
    h('tr', {}, h('th', { scope: 'row' }, label), h('td', { 'data-field': name }, ...value));
  return h(
    'div',
    {},
    h(
      'table',
      { class: 'facts' },
      h(
        'tbody',
        {},
        row('lag', 'data-lag', ms(s.lagMs)),
        row('lag p99', 'data-lag-p99', ms(s.lagP99Ms)),
        row(
          'retained WAL',
          'data-wal',
          s.retainedWalBytes === null ? 'no replication slot' : bytes(s.retainedWalBytes),
        ),
        row(
          'parity',
          'data-parity',
          h('span', { class: `state parity-${parity.state}` }, parity.state),
          counts,
        ),
        row(
          'checked',
          'data-checked-at',
          parity.checkedAt === null ? 'no pass has finished yet' : dateTime(parity.checkedAt),
        ),
        row(
          'sample ids',
          'data-sample-ids',
          parity.sampleIds.length > 0 ? parity.sampleIds.join(', ') : 'none',
        ),
        row(
          'connector',
          'data-connector',
          `${s.connector.name} `,
          h('span', { class: `state connector-${s.connector.state.toLowerCase()}` }, s.connector.state),
        ),
      ),
    ),
    h(
      'p',
      { class: 'muted' },
      `${s.source.database} (${s.source.tables.join(', ')}) → ${s.target.database}.${s.target.table}, writes in the ${s.writes} · updated ${time(s.updatedAt)}`,
    ),
  );
}

const rate = (requests: number, seconds: number) => (seconds > 0 ? (requests / seconds).toFixed(1) : '0');

function sidesTable(traffic: Traffic): HTMLElement {
  const { recent } = traffic;
  return table(
    ['side', 'req/s', 'errors', 'p99'],
    (['old', 'new'] as const).map((side) => [
      h('span', { class: `swatch ${side}` }, side),
      rate(recent[side].requests, recent.seconds),
      recent[side].requests > 0 ? percent(recent[side].errorRate) : '–',
      recent[side].requests > 0 ? `≤ ${Math.round(recent[side].p99Ms)} ms` : '–',
    ]),
    '',
  );
}

function shadowView(report: ShadowReport): HTMLElement {
  if (report.percent === 0 && report.compared === 0) return h('p', { class: 'muted' }, 'not shadowing');
  const summary = h(
    'p',
    {},
    report.percent > 0 ? `shadowing ${report.percent} %` : 'shadowing stopped',
    ` · compared ${report.compared} · mismatch rate `,
    h('strong', { 'data-field': 'mismatch-rate' }, percent(report.mismatchRate)),
    ` · errors ${report.errors} · dropped ${report.dropped}`,
  );
  const paths = table(
    ['path', 'mismatches', 'differed', 'left out'],
    report.paths.slice(0, 5).map((p) => [h('code', {}, p.path), p.mismatches, p.differed, p.excluded ?? '']),
    'no differing paths',
  );
  const samples = report.samples.slice(0, 3).map((sample) =>
    h(
      'div',
      { class: 'sample' },
      h(
        'p',
        { class: 'muted' },
        `${sample.method} `,
        h('code', {}, sample.url),
        sample.userId === null ? '' : ` · user ${sample.userId}`,
        ` · status ${sample.status.old} / ${sample.status.new} · ${time(sample.at)}`,
      ),
      table(
        ['path', 'old', 'new'],
        sample.differences
          .slice(0, 5)
          .map((d) => [
            h('code', {}, d.path),
            h('code', { class: 'old' }, d.old),
            h('code', { class: 'new' }, d.new),
          ]),
        '',
      ),
    ),
  );
  return h(
    'div',
    {},
    summary,
    h('h4', {}, 'Top differing paths'),
    paths,
    h('h4', {}, 'Sample differences'),
    ...(samples.length > 0 ? samples : [h('p', { class: 'muted' }, 'no samples')]),
  );
}

function rolloutView(rollout: Rollout | null): HTMLElement {
  if (!rollout) return h('p', { class: 'muted' }, 'no rollout yet');
  const { plan } = rollout;
  const ended = !ACTIVE.includes(rollout.state);
  const timeline = h(
    'ol',
    { class: 'timeline' },
    ...plan.steps.map((step, i) => {
      const where =
        i < rollout.step || rollout.state === 'succeeded'
          ? 'done'
          : i === rollout.step
            ? ended
              ? 'failed'
              : 'current'
            : 'todo';
      return h('li', { class: where }, `${step} %`);
    }),
  );
  const mismatch = plan.maxMismatchRate === undefined ? 'not judged' : `≤ ${percent(plan.maxMismatchRate)}`;
  return h(
    'div',
    {},
    timeline,
    h(
      'p',
      {},
      `step ${rollout.step + 1} of ${plan.steps.length}, flag at ${rollout.percent} %`,
      rollout.state === 'running' ? ` · next decision ${time(rollout.nextDecisionAt)}` : '',
      ` · started ${dateTime(rollout.startedAt)}`,
    ),
    h(
      'p',
      { class: 'muted' },
      `plan: ${plan.intervalMs} ms per step, ≥ ${plan.minRequests} requests per side, error rate +${percent(plan.maxErrorRateIncrease)} at most, p99 ≤ max(${plan.latencyFloorMs} ms, ${plan.maxLatencyRatio} × old), mismatches ${mismatch}${plan.maxDataLagMs === undefined ? '' : `, data lag ≤ ${plan.maxDataLagMs} ms and parity passed each step`}`,
    ),
    h('h4', {}, 'Decisions'),
    table(
      ['when', 'step', 'outcome', 'reason', 'numbers'],
      rollout.decisions
        .slice(0, 10)
        .map((d) => [
          time(d.at),
          `${d.step + 1} (${d.percent} %)`,
          h('span', { class: `outcome ${d.outcome}` }, d.outcome),
          d.reason,
          numbersOf(d),
        ]),
      'no decisions',
    ),
  );
}

function numbersOf(decision: Decision): string {
  const n = decision.numbers;
  if (!n) return decision.by ? `by ${decision.by}` : '';
  const side = (s: Stats['old']) =>
    `n=${s.requests}, ${percent(s.errorRate)} 5xx, p99 ${Math.round(s.p99Ms)} ms`;
  const mismatch = n.mismatch ? `; mismatch ${percent(n.mismatch.rate)} of ${n.mismatch.samples}` : '';
  const d = n.data;
  const ids = d?.parity?.sampleIds?.length ? ` (ids ${d.parity.sampleIds.join(', ')})` : '';
  const data = d
    ? `; data ${d.domain}: lag ${d.lagMs ?? '?'} ms of ${d.maxDataLagMs}, parity ${d.parity?.state ?? '?'}${ids}`
    : '';
  return `old ${side(n.old)}; new ${side(n.new)}; p99 limit ${Math.round(n.latencyLimitMs)} ms${mismatch}${data}`;
}

/** What an entry changed, field by field: `percent 20 → 30`. */
function changes(old: Recorded | null, next: Recorded): string {
  const list = (ids: string[]) => (ids.length > 0 ? ids.join(', ') : 'none');
  const fields: Array<[string, (r: Recorded) => string]> = [
    ['enabled', (r) => String(r.enabled)],
    ['percent', (r) => `${r.percent} %`],
    ['allow', (r) => list(r.allow)],
    ['deny', (r) => list(r.deny)],
    ['shadow', (r) => `${r.shadow?.percent ?? 0} %`],
    ['ignore', (r) => list(r.shadow?.ignore ?? [])],
  ];
  const changed = fields
    .filter(([, of]) => !old || of(old) !== of(next))
    .map(([label, of]) => `${label} ${old ? `${of(old)} → ` : ''}${of(next)}`);
  return changed.length > 0 ? changed.join('; ') : 'no change';
}

function historyTable(entries: HistoryEntry[]): HTMLElement {
  return table(
    ['when', 'who / why', 'old → new'],
    entries.slice(0, 15).map((entry) => [dateTime(entry.at), entry.by, changes(entry.old, entry.new)]),
    'no changes recorded',
  );
}
