import { pino, type Logger } from 'pino';

/** Log categories, so a reader can filter one concern (Outline's LogCategory). */
export type LogCategory = 'boot' | 'http' | 'ledger' | 'payments' | 'jobs' | 'realtime' | 'db';

/** Builds the root logger; children carry `category`, `requestId` or `jobId`. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: undefined,
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'donor.email', 'donor.phone'], censor: '[redacted]' },
  });
}

export type { Logger };
