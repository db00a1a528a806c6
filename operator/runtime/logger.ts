/**
 * The operator's pino logger: JSON lines to stdout, level from `NEROPS_LOG_LEVEL`/`LOG_LEVEL`. Reconcilers
 * get child loggers (controller, kind, namespace, name, generation) from the manager. Never log Secret data:
 * the runtime logs keys and error messages only.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export function createOperatorLogger(
  level = process.env.NEROPS_LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'info',
  destination?: DestinationStream,
): Logger {
  const opts = {
    level,
    base: { service: 'ner-ops-operator' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['*.data', '*.stringData', '*.authorization', '*.token'], censor: '[redacted]' },
  };
  return pino(opts, destination ?? pino.destination({ dest: 1, sync: true }));
}
