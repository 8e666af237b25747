import { ConfigError, loadConfig, startServer } from '@cinemaabyss/service-kit';
import { buildApp } from './app.js';
import { type Config, configSchema } from './config.js';

let config: Config;
try {
  config = loadConfig(configSchema);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}

let shuttingDown = false;
await startServer(() => buildApp(config, { isShuttingDown: () => shuttingDown }), {
  port: config.PORT,
  shutdownDelayMs: config.SHUTDOWN_DELAY_MS,
  onShutdownStart: () => {
    shuttingDown = true;
  },
});
