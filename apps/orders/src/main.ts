import { runService } from '#common/main.js';
import { startOrdersApp } from './bootstrap.js';
import { loadOrdersConfig } from './config.js';

await runService('orders', () => loadOrdersConfig(), startOrdersApp);
