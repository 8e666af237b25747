import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  endpoints,
  helmTemplate,
  type Manifest,
  parseManifests,
  repoRoot,
  run,
  type ServiceName,
  serviceNames,
  tool,
} from '../deploy/tools.js';
import { dashboard, dashboardQueries, panelsOfRow, substitute } from './dashboard.js';
import { freePort, type Prometheus, startPrometheus, until } from './prometheus.js';
import { type RangeSeries, renderSplitSvg } from './render-split.js';

// Issue 17's proof against a real Prometheus (built by tools/install-go-tools.sh): the shipped rules pass
// promtool, and a Prometheus on the shipped scrape config, pointed at the running stack plus a gateway of
// this test whose new side is faulty, sees every target up, data for every dashboard query, and the
// rollback and error-rate alerts once a rollout has rolled back.
const rulesFile = join(repoRoot, 'deploy/prometheus/cinemaabyss.rules.yaml');
const unitTests = join(repoRoot, 'tests/observability/alerts.test.yaml');
const scrapeConfigFile = join(repoRoot, 'deploy/prometheus/prometheus.yml');
const gatewayServer = join(repoRoot, 'services/gateway/dist/server.js');

/** The services Prometheus scrapes: the running stack's, or those the environment names instead. */
const serviceUrl: Record<ServiceName, string> = {
  gateway: process.env.GATEWAY_URL ?? `http://127.0.0.1:${endpoints.gateway.port}`,
  monolith: process.env.MONOLITH_URL ?? `http://127.0.0.1:${endpoints.monolith.port}`,
  movies: process.env.MOVIES_URL ?? `http://127.0.0.1:${endpoints.movies.port}`,
  events: process.env.EVENTS_URL ?? `http://127.0.0.1:${endpoints.events.port}`,
};
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  annotations?: Record<string, string>;
}
const rules: Rule[] = parse(readFileSync(rulesFile, 'utf8')).groups.flatMap(
  (g: { rules: Rule[] }) => g.rules,
);
const alerts = rules.filter((rule) => rule.alert !== undefined);

describe('alert rules (promtool)', () => {
  it('passes promtool check rules: the compose rules file and the PrometheusRule the chart renders', () => {
    const compose = run(tool('promtool'), ['check', 'rules', rulesFile]);
    expect(compose.stdout + compose.stderr).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(compose.status).toBe(0);

    const rendered = parseManifests(helmTemplate('--set', 'metrics.prometheusRule.enabled=true')).find(
      (m) => m.kind === 'PrometheusRule',
    );
    const file = join(mkdtempSync(join(tmpdir(), 'cinemaabyss-rules-')), 'chart.rules.yaml');
    writeFileSync(file, stringify(rendered?.spec));
    const chart = run(tool('promtool'), ['check', 'rules', file]);
    expect(chart.stdout + chart.stderr).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(chart.status).toBe(0);
  });

  it('refuses a rule with a broken expression, so the check above can fail', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cinemaabyss-rules-')), 'broken.rules.yaml');
    writeFileSync(file, stringify({ groups: [{ name: 'x', rules: [{ alert: 'X', expr: 'rate(up[5m]' }] }] }));
    const result = run(tool('promtool'), ['check', 'rules', file]);
    expect(result.status).toBe(1);
    expect(result.stdout + result.stderr).toContain('unclosed left parenthesis');
  });

  it('passes the promtool unit tests, which hold a firing and a not-firing case for every alert', () => {
    const result = run(tool('promtool'), ['test', 'rules', unitTests]);
    expect(result.stdout + result.stderr).toContain('SUCCESS');
    expect(result.status).toBe(0);

    const cases = (
      parse(readFileSync(unitTests, 'utf8')).tests as Array<{
        alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }>;
      }>
    ).flatMap((test) => test.alert_rule_test ?? []);
    for (const { alert } of alerts) {
      const of = cases.filter((c) => c.alertname === alert);
      expect(
        of.some((c) => c.exp_alerts.length > 0),
        `${alert} firing`,
      ).toBe(true);
      expect(
        of.some((c) => c.exp_alerts.length === 0),
        `${alert} not firing`,
      ).toBe(true);
    }
  });

  it('fails a unit test whose expectation is wrong, so the check above can fail', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cinemaabyss-rules-')), 'wrong.test.yaml');
    writeFileSync(
      file,
      stringify({
        rule_files: [rulesFile],
        tests: [
          {
            interval: '1m',
            input_series: [{ series: 'up{job="movies",instance="m:1"}', values: '1 0 0' }],
            // Down for 1 minute only: not firing yet (for: 2m).
            alert_rule_test: [
              { eval_time: '1m', alertname: 'CinemaAbyssServiceDown', exp_alerts: [{ exp_labels: {} }] },
            ],
          },
        ],
      }),
    );
    const result = run(tool('promtool'), ['test', 'rules', file]);
    expect(result.status).toBe(1);
    expect(result.stdout + result.stderr).toContain('CinemaAbyssServiceDown');
  });

  it('gives every alert a summary, a description and a runbook section of docs/runbook.md', () => {
    const runbook = readFileSync(join(repoRoot, 'docs/runbook.md'), 'utf8');
    const anchors = new Set([...runbook.matchAll(/^## (\S+)$/gm)].map(([, title]) => title!.toLowerCase()));
    for (const { alert, annotations } of alerts) {
      expect(annotations?.summary, `${alert} summary`).toBeTruthy();
      expect(annotations?.description, `${alert} description`).toBeTruthy();
      const url = new URL(annotations?.runbook_url ?? '', 'https://x');
      expect(url.pathname, `${alert} runbook_url`).toMatch(/\/docs\/runbook\.md$/);
      expect(url.hash, `${alert} runbook_url`).toBe(`#${alert!.toLowerCase()}`);
      expect(anchors, `${alert}: docs/runbook.md has no section "## ${alert}"`).toContain(
        alert!.toLowerCase(),
      );
    }
  });
});

describe('dashboard structure', () => {
  const panels = dashboard.panels;
  // Grafana's variable syntax, not a template literal.
  const datasource = ['$', '{datasource}'].join('');

  it('refers to its data source through the datasource variable, on every panel and query', () => {
    const [variable] = dashboard.templating.list.filter((v) => v.name === 'datasource');
    expect(variable).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const ref = { type: 'prometheus', uid: datasource };
    const flag = dashboard.templating.list.find((v) => v.name === 'flag');
    expect(flag?.datasource).toEqual(ref);
    for (const panel of panels.filter((p) => p.type !== 'row')) {
      expect(panel.datasource, panel.title).toEqual(ref);
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets) expect(target.datasource, panel.title).toEqual(ref);
    }
    for (const annotation of dashboard.annotations.list.filter((a) => a.builtIn !== 1))
      expect(annotation.datasource).toEqual(ref);
  });

  it('has unique panel ids, unique refIds per panel and panels inside the 24-column grid', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      expect(Number.isInteger(panel.id), panel.title).toBe(true);
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
      const refIds = (panel.targets ?? []).map((t) => t.refId);
      expect(new Set(refIds).size, panel.title).toBe(refIds.length);
    }
  });

  it('selects the flag on every gateway panel of the migration and shows the decisions as annotations', () => {
    const migration = panelsOfRow('Migration of flag $flag (gateway)');
    expect(migration.length).toBeGreaterThan(5);
    // The flag store is one per gateway, not per flag.
    for (const panel of migration.filter((p) => p.title !== 'Flag store connection'))
      for (const target of panel.targets) expect(target.expr, panel.title).toContain('flag="$flag"');
    const decisions = dashboard.annotations.list.find((a) => a.name === 'Rollout decisions');
    expect(decisions?.expr).toContain('gateway_rollout_decisions_total{flag="$flag"}');
  });
});

/** A real upstream: a 500 for half of the requests, a JSON body unlike the monolith's for the others. */
async function faultyUpstream() {
  const server: Server = createServer((_req, res) => {
    const failing = Math.random() < 0.5;
    res.writeHead(failing ? 500 : 200, { 'content-type': 'application/json' }).end('{"faulty":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** Closed, its port refuses connections: the gateway falls back. */
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** GETs through `base` with random user ids, `inFlight` at a time, until stopped (at most 20 000). */
function traffic(base: string, path: string, inFlight = 4) {
  let stopped = false;
  let sent = 0;
  const worker = async () => {
    while (!stopped && sent++ < 20_000) {
      const userId = randomBytes(6).toString('hex');
      await fetch(`${base}${path}`, { headers: { 'x-user-id': userId } })
        .then((res) => res.arrayBuffer())
        .catch(() => {});
    }
  };
  const workers = Array.from({ length: inFlight }, worker);
  return async () => {
    stopped = true;
    await Promise.all(workers);
  };
}

const hostPort = (url: string) => new URL(url).host;

describe('a real Prometheus on the shipped scrape config, against the running stack', () => {
  const flag = `obs-${randomBytes(4).toString('hex')}`;
  const token = randomBytes(24).toString('hex');
  const admin = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  let faulty: Awaited<ReturnType<typeof faultyUpstream>>;
  let gateway: ChildProcess | undefined;
  let gatewayBase: string;
  let prometheus: Prometheus | undefined;
  const stops: Array<() => Promise<void>> = [];
  let rolloutStartedAt = 0;
  let fellBackAt = 0;
  let dir: string | undefined;

  const setFlag = async (path: string, method: string, body: object) => {
    const res = await fetch(`${gatewayBase}/admin/flags/${flag}${path}`, {
      method,
      headers: admin,
      body: JSON.stringify(body),
    });
    expect(res.status, `${method} ${path}: ${await res.clone().text()}`).toBeLessThan(300);
    return res.json() as Promise<Manifest>;
  };

  beforeAll(async () => {
    if (!existsSync(gatewayServer))
      throw new Error(`${gatewayServer} is missing: run \`pnpm -r build\` first`);
    faulty = await faultyUpstream();
    dir = mkdtempSync(join(tmpdir(), 'cinemaabyss-observability-'));
    const routes = join(dir, 'routes.yaml');
    writeFileSync(
      routes,
      stringify({
        upstreams: { monolith: serviceUrl.monolith, faulty: faulty.url },
        routes: [
          { prefix: '/api/movies', upstream: 'monolith', migrate: { flag, to: 'faulty' } },
          { prefix: '/api', upstream: 'monolith' },
        ],
        flags: { [flag]: { seed: { enabled: true, percent: 0 } } },
      }),
    );
    const port = await freePort();
    gatewayBase = `http://127.0.0.1:${port}`;
    gateway = spawn(process.execPath, [gatewayServer], {
      env: {
        ...process.env,
        PORT: String(port),
        GATEWAY_ROUTES_FILE: routes,
        REDIS_URL: redisUrl,
        ADMIN_TOKEN: token,
        // Every fallback is a warning: only errors reach the test's output.
        LOG_LEVEL: 'error',
        SHUTDOWN_DELAY_MS: '0',
        // Short rollout windows: counts flushed every 50 ms, judged 200 ms after a window, a 600 ms lease.
        CLUSTER_COUNTERS_FLUSH_MS: '50',
        ROLLOUT_SETTLE_MS: '200',
        ROLLOUT_LEASE_MS: '600',
        ROLLOUT_RESOLUTION_MS: '100',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await until(
      async () =>
        ((await (await fetch(`${gatewayBase}/ready`)).json()) as { status: string }).status === 'ready'
          ? true
          : undefined,
      15_000,
      'the test gateway to be ready',
    );
    await setFlag('/shadow', 'PUT', { percent: 100 });

    // The shipped scrape config; only the targets (and the test gateway, as a second gateway), the
    // intervals and the rules file's path (compose mounts it elsewhere) are the test's.
    const config = parse(readFileSync(scrapeConfigFile, 'utf8'));
    config.global = { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' };
    config.rule_files = [rulesFile];
    for (const job of config.scrape_configs) {
      const targets = [hostPort(serviceUrl[job.job_name as ServiceName])];
      if (job.job_name === 'gateway') targets.push(hostPort(gatewayBase));
      job.static_configs = [{ targets }];
    }
    expect(config.scrape_configs.map((job: Manifest) => job.job_name).sort()).toEqual(
      [...serviceNames].sort(),
    );
    prometheus = await startPrometheus(tool('prometheus'), config);
  }, 60_000);

  afterAll(async () => {
    for (const stop of stops.splice(0)) await stop();
    if (gateway && gateway.exitCode === null) {
      const exited = new Promise((resolve) => gateway!.once('exit', resolve));
      gateway.kill('SIGTERM');
      await exited;
    }
    await faulty?.close();
    await prometheus?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('sees every target up', async () => {
    let targets: Manifest[] = [];
    await until(
      async () => {
        targets = (await prometheus!.api('targets')).body.data.activeTargets;
        return targets.length === 5 && targets.every((t) => t.health === 'up') ? true : undefined;
      },
      20_000,
      'every target up',
      () => targets.map((t) => `${t.labels.job} ${t.labels.instance} ${t.health} ${t.lastError}`),
    );
    expect(targets.map((t) => t.labels.job).sort()).toEqual([
      'events',
      'gateway',
      'gateway',
      'monolith',
      'movies',
    ]);
  });

  it('fires the rollback alert and the error-rate alert when a rollout rolls back', async () => {
    // Traffic on every service: the test gateway's migrating route, the movies service, one event.
    stops.push(traffic(gatewayBase, '/api/movies'), traffic(serviceUrl.movies, '/api/movies', 1));
    const event = await fetch(`${serviceUrl.events}/api/events/movie`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ movie_id: 1, title: 'Observability', action: 'viewed' }),
    });
    expect(event.status).toBe(201);

    rolloutStartedAt = Date.now();
    await setFlag('/rollout', 'POST', {
      steps: [50, 100],
      intervalMs: 2_000,
      minRequests: 20,
      latencyFloorMs: 5_000,
    });
    const rollout = await until(
      async () => {
        const view = (await (
          await fetch(`${gatewayBase}/admin/flags/${flag}/rollout`, { headers: admin })
        ).json()) as { state: string; decisions: Array<{ outcome: string; reason: string }> };
        return view.state === 'rolled-back' ? view : undefined;
      },
      20_000,
      'the rollout to roll back',
    );
    expect(rollout.decisions[0]).toMatchObject({
      outcome: 'rollback',
      reason: expect.stringMatching(/new 5xx/),
    });

    let firing: Manifest[] = [];
    await until(
      async () => {
        firing = (await prometheus!.api('alerts')).body.data.alerts.filter(
          (a: Manifest) => a.labels.flag === flag,
        );
        const state = (name: string) => firing.find((a) => a.labels.alertname === name)?.state;
        return state('CinemaAbyssRolloutRolledBack') === 'firing' &&
          ['pending', 'firing'].includes(state('CinemaAbyssNewSideErrorRateHigh'))
          ? true
          : undefined;
      },
      20_000,
      'the rollback alert firing and the error-rate alert pending or firing',
      () => firing.map((a) => `${a.labels.alertname} ${a.state}`),
    );
  }, 60_000);

  it('has data for every dashboard query and annotation, once the new side also fell back', async () => {
    // Prometheus has seen the rolled-back flag at 0 % for 3 s (so the split shows it), then the new side
    // goes unreachable at 50 %: its GETs fall back to the old one.
    await until(
      async () => {
        const { body } = await prometheus!.api('query', {
          query: `max_over_time(gateway_flag_percent{flag="${flag}"}[3s]) == 0 and count_over_time(gateway_flag_percent{flag="${flag}"}[3s]) >= 3`,
        });
        return body.data.result.length > 0 ? true : undefined;
      },
      20_000,
      'Prometheus to see the flag at 0 % for 3 s',
    );
    await faulty.close();
    await setFlag('', 'PUT', { percent: 50 });
    fellBackAt = Date.now();
    const queries = dashboardQueries().map(({ title, expr }) => ({ title, expr: substitute(expr, flag) }));
    const missing = new Map<string, string>();
    await Promise.all(
      queries.map(({ title, expr }) =>
        until(
          async () => {
            const { status, body } = await prometheus!.api('query', { query: expr });
            expect(status, `${title}: ${expr}: ${body.error}`).toBe(200);
            if (body.data.result.length > 0) {
              missing.delete(title);
              return true;
            }
            missing.set(title, expr);
            return undefined;
          },
          30_000,
          'data for every dashboard query',
          () => Object.fromEntries(missing),
        ),
      ),
    );
    // The flag variable's query, label_values(gateway_flag_percent, flag), through the label API.
    const values = await prometheus!.api('label/flag/values', { 'match[]': 'gateway_flag_percent' });
    expect(values.body.data).toContain(flag);

    if (process.env.OBSERVABILITY_SPLIT_SVG) {
      // The "Traffic split" panel over the rollout (each side's share, the flag's percent) once it covers
      // 10 s of the fallbacks too, with the rate window Grafana takes for a 1 s scrape and step.
      const split = dashboardQueries().filter((q) => q.title.startsWith('Traffic split '));
      const rangeOf = async (expr: string) =>
        (
          await prometheus!.api('query_range', {
            query: substitute(expr, flag, '4s'),
            start: String(rolloutStartedAt / 1000),
            end: String(Date.now() / 1000),
            step: '1',
          })
        ).body.data.result as RangeSeries[];
      const series = await until(
        async () => {
          const all = (await Promise.all(split.map(({ expr }) => rangeOf(expr)))).flat();
          const last = Math.max(...all.flatMap((s) => s.values.map(([t]) => t)));
          return last >= fellBackAt / 1000 + 10 ? all : undefined;
        },
        30_000,
        '10 s of the split after the fallbacks began',
      );
      writeFileSync(resolve(repoRoot, process.env.OBSERVABILITY_SPLIT_SVG), renderSplitSvg(series, flag));
    }
  }, 60_000);

  it('answers 400 for every query that does not parse, so the checks above can fail', async () => {
    for (const { title, expr } of dashboardQueries()) {
      const { status, body } = await prometheus!.api('query', { query: substitute(expr, flag) });
      expect(status, `${title}: ${body.error}`).toBe(200);
    }
    const broken = await prometheus!.api('query', {
      query: 'sum by (side) (rate(gateway_requests_total[1m])',
    });
    expect(broken.status).toBe(400);
    expect(broken.body.error).toContain('parse error');
  });
});
