// What the gateway's admin API takes and answers, in one place: the gateway validates with these schemas,
// the console and the CLI import their types.
export * from './api.js';
export * from './data.js';
export * from './flags.js';
export * from './paths.js';
export * from './rollout.js';
export * from './shadow.js';
export * from './values.js';
