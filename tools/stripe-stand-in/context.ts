import type { EventLog } from './events.js';
import type { FollowUps } from './follow-ups.js';
import type { Store } from './store.js';

/** What the endpoint handlers work with: the account's objects, its events, delayed changes. */
export interface Context {
  store: Store;
  events: EventLog;
  followUps: FollowUps;
}
