import { runService } from '#common/runtime/run-service.js';
import { startOrdersApp } from './bootstrap.js';
import { loadOrdersConfig } from './config.js';

await runService('orders', () => loadOrdersConfig(), startOrdersApp);
