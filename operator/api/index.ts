/** The nerops API: group/version/kind names, zod schemas, TypeScript types and constants. */
export * from './group.js';
export * from './shared-schemas.js';
export * from './conditions-constants.js';
export * from './nermodel.js';
export * from './nermodel-constants.js';
export * from './nerdeployment.js';
export * from './nerdeployment-constants.js';
export * from './driftpolicy.js';
export * from './driftpolicy-constants.js';
export * from './crd.js';
export * from './resources.js';
