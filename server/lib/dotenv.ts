import { existsSync } from 'node:fs';

/** Loads `.env` from the working directory if present; variables already set win. */
export function loadDotEnv(file = '.env'): void {
  if (existsSync(file)) process.loadEnvFile(file);
}
