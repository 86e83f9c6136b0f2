export { freePort, freePortRange } from '../../../tools/dev/ports.js';
