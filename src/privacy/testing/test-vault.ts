// A vault over a test's own database, with the production defaults' shape.

import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.ts';
import { createVault, type PersonalDataVault } from '../vault.ts';

export const testVault = (db: Kysely<Database>): PersonalDataVault =>
  createVault({ db, cacheTtlMs: 60_000, cacheSize: 1_000, messageKeysAhead: 100, keyReadAhead: 256 });
