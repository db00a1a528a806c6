/**
 * The API group, version and kind names live in contracts/api-group.ts: the `kubectl ner` plugin (a separate
 * process) addresses the same resources the operator serves. Re-exported here for the operator's modules.
 */
export * from '../../contracts/api-group.js';
