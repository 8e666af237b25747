export { type AggregateSource, monolithAggregates, moviesAggregates } from './aggregates.js';
export { type Difference, ParityChecker, type ParityOptions, type ParityReport } from './checker.js';
export { type Clock, RowBudget, systemClock } from './row-budget.js';
