/**
 * Structured logs (pino). Rule: never a resource body, query string or identifier value —
 * they hold personal data. Log resource type, id, request id, route, status and timing only.
 */
import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'medid' },
    // Defence in depth: if an object with these keys is ever logged, its values are dropped.
    redact: { paths: ['body', 'query', '*.body', '*.query', 'headers.authorization', '*.headers.authorization'], remove: true },
  });
}
