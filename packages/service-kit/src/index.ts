export { ConfigError, envBoolean, envPort, loadConfig, logLevel } from './config.js';
export { errorHandling, HttpError, parseInput } from './errors.js';
export { fastifyOptions, type ServiceOptions } from './options.js';
export { type AppDeps, type Lifecycle, runService, StartupError } from './server.js';
