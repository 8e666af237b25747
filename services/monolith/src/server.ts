import { runService } from '@cinemaabyss/service-kit';
import { buildApp } from './app.js';
import { configSchema } from './config.js';

await runService(configSchema, buildApp);
