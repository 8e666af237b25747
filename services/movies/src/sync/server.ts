import { runService } from '@cinemaabyss/service-kit';
import { buildSyncApp } from './app.js';
import { configSchema } from './config.js';
import { syncPlugins } from './plugins.js';

// `node dist/sync/server.js`: movies-sync, the applier of the monolith's movie changes.
await runService(configSchema, (config, lifecycle) =>
  buildSyncApp(config, { ...lifecycle, plugins: syncPlugins }),
);
