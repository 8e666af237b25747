export { ConfigError, envBoolean, envPort, loadConfig, logLevel } from './config.js';
export { errorHandling, HttpError, issuePath, parseInput } from './errors.js';
export { foldKey, legacyJsonBody, legacyObject, parseLegacyJson } from './legacy-json.js';
export {
  LATENCY_BUCKETS,
  METRICS_PATH,
  type ServiceMetrics,
  serviceMetrics,
} from './metrics.js';
export { fastifyOptions, type ServiceOptions } from './options.js';
export { type AppDeps, type Lifecycle, runService, shutdownDelayMs } from './server.js';
export { describeError, StartupError, startFailureMessage } from './start-failure.js';
