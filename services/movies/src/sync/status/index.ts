export { CONNECTOR_STATES, type ConnectorState, probeConnector } from './connector.js';
export { CONNECTOR_NAME, type DataStatus, type Lag, REPLICATION_SLOT, statusDocument } from './document.js';
export { type ParityConfig, parityEnv } from './env.js';
export { dataMetrics } from './metrics.js';
export { type DataStatusOptions, dataStatus } from './plugin.js';
export { StatusPublisher, statusKey, type VerifyRequest, verifyChannel } from './publisher.js';
export { retainedWalBytes } from './wal.js';
