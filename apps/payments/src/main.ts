import { runService } from '#common/main.js';
import { startPaymentsApp } from './bootstrap.js';
import { loadPaymentsConfig } from './config.js';

await runService('payments', () => loadPaymentsConfig(), startPaymentsApp);
