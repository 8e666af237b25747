import type { FastifyPluginAsync } from 'fastify';
import type { SyncPluginOptions } from './app.js';
import { dataStatus } from './status/index.js';

/**
 * What runs inside movies-sync besides the applier, each getting `{ config, db, lag, metrics }`: the parity
 * checker and the data status it publishes to Redis (docs/data.md#parity).
 */
export const syncPlugins: FastifyPluginAsync<SyncPluginOptions>[] = [dataStatus];
