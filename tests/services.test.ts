import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { endpoints, repoRoot, type ServiceName, serviceNames, upstreamUrlVariables } from './deploy/tools.js';

// deploy/services.json checked against the services themselves, so the manifests and scripts that follow it
// cannot inherit a wrong port or probe path: the default ports, what each path answers while the service drains,
// and what the running stack (scripts/stack up) answers on those ports.

interface Service {
  configSchema: { parse(env: Record<string, string | undefined>): Record<string, unknown> };
  buildApp(
    config: Record<string, unknown>,
    deps: { isShuttingDown: () => boolean },
  ): Promise<{
    inject(url: string): Promise<{ statusCode: number; body: string }>;
    close(): Promise<void>;
  }>;
}

async function load(name: ServiceName): Promise<Service> {
  const [config, app] = await Promise.all([
    import(/* @vite-ignore */ join(repoRoot, 'services', name, 'src/config.ts')),
    import(/* @vite-ignore */ join(repoRoot, 'services', name, 'src/app.ts')),
  ]);
  return { configSchema: config.configSchema, buildApp: app.buildApp };
}

// Nothing of the stack is touched while draining: events gets no broker and the gateway no Redis to reach.
const drainEnv: Partial<Record<ServiceName, Record<string, string>>> = {
  events: { KAFKA_BROKERS: '127.0.0.1:1' },
  gateway: { REDIS_URL: 'redis://127.0.0.1:1' },
};

describe.each(serviceNames)('%s', (name) => {
  const { port, liveness, readiness } = endpoints[name];

  it('listens on its port of deploy/services.json by default', async () => {
    const { configSchema } = await load(name);
    const config = configSchema.parse({});
    expect(config.PORT).toBe(port);
    if (name === 'gateway') {
      // The gateway's default upstreams are those of its built-in routing policy.
      const { BUILT_IN_POLICY } = await import(
        /* @vite-ignore */ join(repoRoot, 'services/gateway/src/routing/policy.ts')
      );
      for (const upstream of Object.keys(upstreamUrlVariables)) {
        const url = new URL(BUILT_IN_POLICY.upstreams[upstream]);
        expect(url.port, upstream).toBe(String(endpoints[upstream as ServiceName].port));
      }
    }
  });

  it('keeps liveness at 200 and fails readiness while it drains', async () => {
    const { configSchema, buildApp } = await load(name);
    const config = configSchema.parse({ ...process.env, LOG_LEVEL: 'silent', ...drainEnv[name] });
    const app = await buildApp(config, { isShuttingDown: () => true });
    try {
      expect((await app.inject(liveness)).statusCode, liveness).toBe(200);
      const ready = await app.inject(readiness);
      expect(ready.statusCode, readiness).toBe(503);
      expect(ready.body, readiness).toMatch(/shutting.down/);
    } finally {
      await app.close();
    }
  });

  it('serves its metrics on /metrics, the requests named after the service (docs/observability.md)', async () => {
    const { configSchema, buildApp } = await load(name);
    const config = configSchema.parse({ ...process.env, LOG_LEVEL: 'silent', ...drainEnv[name] });
    const app = await buildApp(config, { isShuttingDown: () => false });
    try {
      const metrics = await app.inject('/metrics');
      expect(metrics.statusCode).toBe(200);
      for (const family of [
        `# TYPE ${name}_requests_total counter`,
        `# TYPE ${name}_request_duration_seconds histogram`,
        '# TYPE process_cpu_seconds_total counter',
      ])
        expect(metrics.body.split('\n')).toContain(family);
    } finally {
      await app.close();
    }
  });

  it('answers both paths with 200 on that port in the running stack', async () => {
    for (const path of [liveness, readiness]) {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      expect(response.status, path).toBe(200);
    }
  });
});
