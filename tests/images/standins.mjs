// How scripts/images runs a deployment path's containers beside the native stack, shared by manifests.mjs
// (kustomize, Helm) and compose.mjs: host networking, so every host name of the path's own network becomes
// 127.0.0.1; the four services' ports move by an offset (the native stack holds theirs); PostgreSQL, Redis
// and Kafka are the native stack's, which stand in for the images that cannot be pulled here, with a schema
// (search_path) and a Redis database of the run's own, so the shared data is never touched.

export function fail(message) {
  console.error(`${process.argv[1].split('/').at(-1)}: ${message}`);
  process.exit(2);
}

/**
 * Rewrites one setting's value. `hosts` maps each host name of the path's network to its port shift (0 for a
 * stand-in); `shifted` maps each service port to its new port, which 127.0.0.1/localhost URLs follow too.
 */
export function rewriter({ hosts, shifted, schema, redisDb }) {
  const names = [...hosts.keys(), '127\\.0\\.0\\.1', 'localhost'].join('|');
  const hostPort = new RegExp(`(?<![\\w.-])(${names}):(\\d+)\\b`, 'g');
  return (value) => {
    let result = value.replace(hostPort, (_, host, port) => {
      const own = hosts.has(host) || host === '127.0.0.1' || host === 'localhost';
      return `127.0.0.1:${own ? (shifted.get(port) ?? port) : port}`;
    });
    // A whole URL value: PostgreSQL on the run's schema, Redis on the run's database number.
    if (schema && /^postgres(ql)?:\/\//.test(result)) {
      const url = new URL(result);
      url.searchParams.set('options', `-c search_path=${schema}`);
      result = url.href;
    }
    if (redisDb !== undefined && /^rediss?:\/\//.test(result)) {
      const url = new URL(result);
      url.pathname = `/${redisDb}`;
      result = url.href;
    }
    return result;
  };
}

/** `--override KEY=VALUE`: replaces KEY where the container sets it (the run's Kafka group, say). */
export function applyOverrides(env, overrides = []) {
  for (const pair of overrides) {
    const at = pair.indexOf('=');
    if (at < 1) fail(`--override expects KEY=VALUE, got "${pair}"`);
    const key = pair.slice(0, at);
    if (env.has(key)) env.set(key, pair.slice(at + 1));
  }
}

export function envArgs(env) {
  return [...env].map(([key, value]) => {
    if (/\n/.test(value)) fail(`${key} holds a newline`);
    return `--env=${key}=${value}`;
  });
}
