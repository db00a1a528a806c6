/** The retraining Job's result format now lives in contracts/ (shared with `ner-ops retrain`). */
export * from '../../../contracts/retraining-job.js';
