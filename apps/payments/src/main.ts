import { runService } from '#common/runtime/run-service.js';
import { startPaymentsApp } from './bootstrap.js';
import { loadPaymentsConfig } from './config.js';

await runService('payments', () => loadPaymentsConfig(), startPaymentsApp);
