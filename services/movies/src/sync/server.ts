import { runService } from '@cinemaabyss/service-kit';
import { buildSyncApp } from './app.js';
import { configSchema } from './config.js';
import { dataStatus } from './status/index.js';

// `node dist/sync/server.js`: movies-sync, the applier of the monolith's movie changes, with the parity
// checker and the data status it publishes to Redis (docs/data.md).
await runService(configSchema, (config, lifecycle) =>
  buildSyncApp(config, { ...lifecycle, plugins: [dataStatus] }),
);
