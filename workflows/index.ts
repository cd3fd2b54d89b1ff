/** Every workflow the worker registers; the bundler starts from this file. */
export { syncSource } from './sync-source.js';
export { weeklyReport } from './weekly-report.js';
export { alerts } from './alerts.js';
export { scheduledSync } from './scheduled-sync.js';
