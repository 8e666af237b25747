import type { FastifyPluginAsync } from 'fastify';
import type { SyncPluginOptions } from './app.js';

/**
 * What runs inside movies-sync besides the applier, each getting `{ config, db, lag }`: the data status
 * publisher and the parity checker of issue 27 are added here.
 */
export const syncPlugins: FastifyPluginAsync<SyncPluginOptions>[] = [];
