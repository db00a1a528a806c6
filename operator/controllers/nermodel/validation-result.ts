/** The validation Job's result format now lives in contracts/ (shared with `ner-ops validate`). */
export * from '../../../contracts/validation-result.js';
