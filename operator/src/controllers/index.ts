/**
 * The controllers `ner-ops operator` runs. Owned by the controllers; the runtime only imports this list.
 * Each entry is a ControllerSpec or a factory `(deps) => ControllerSpec` (see operator/src/main.ts).
 */
import type { ControllerFactory } from '../main.js';

export const controllers: ControllerFactory[] = [];
