/**
 * The controller runtime: informers (list + watch + cache), the work queue, controllers and their
 * manager, server-side apply / status / Events helpers, conditions and Lease leader election.
 * Controllers import from here.
 */
export * from './apply.js';
export * from './client.js';
export * from './clock.js';
export * from './conditions.js';
export * from './controller.js';
export * from './informer.js';
export * from './kube.js';
export * from './leader.js';
export * from './logger.js';
export * from './metrics.js';
export * from './ownership.js';
export * from './permissions.js';
export * from './queue.js';
export * from './resource.js';
