// Migration 0028 on both engines, from data as the versions before it left it:
// the admin audit of every chat model version keeps its rows while its target
// widens to a user or a webhook (SQLite rebuilds the table for that), the
// webhooks table appears in every version, and down and up again keep the
// audit's rows.

import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateTo, migrateToLatest } from '../src/store/migrate.ts';
import type { Store } from '../src/store/store.ts';
import { testEngines } from '../test/support/engines.ts';

const suspension = {
  action_id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f5a01',
  action: 'suspend',
  admin_id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a01',
  target_user_id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a02',
  until: 1_800_000_000_000,
  at: 1_700_000_000_000,
};

for (const engine of await testEngines('migration_0028')) {
  describe.runIf(engine.available)(`migration 0028 (webhooks) on ${engine.name}`, () => {
    let store: Store;
    const tables = async () => (await store.db.introspection.getTables()).map((t) => t.name);
    const auditRows = async (table: string): Promise<Record<string, unknown>[]> =>
      (await sql<Record<string, unknown>>`select * from ${sql.table(table)} order by at`.execute(store.db)).rows.map((row) => ({
        ...row,
        until: row.until === null ? null : Number(row.until),
        at: Number(row.at),
      }));

    beforeAll(async () => {
      store = await engine.open();
      expect(await migrateTo(store.db, '0027_sync_changes')).toContain('0028_webhooks');
      const { action_id, action, admin_id, target_user_id, until, at } = suspension;
      // The live version and a rebuilt one beside it, each with an act in its audit.
      await sql`create table users__v2 as select * from users`.execute(store.db);
      await sql`create table admin_audit__v2 as select * from admin_audit`.execute(store.db);
      for (const table of ['admin_audit', 'admin_audit__v2']) {
        await sql`insert into ${sql.table(table)} (action_id, action, admin_id, target_user_id, until, at)
          values (${action_id}, ${action}, ${admin_id}, ${target_user_id}, ${until}, ${at})`.execute(store.db);
      }
      expect(await migrateToLatest(store.db)).toContain('0028_webhooks');
    });
    afterAll(async () => {
      await store.close();
      await engine.dispose();
    });

    it('keeps every audit row, in every version, with no webhook as its target', async () => {
      for (const table of ['admin_audit', 'admin_audit__v2']) {
        expect(await auditRows(table), table).toEqual([{ ...suspension, target_webhook_id: null }]);
      }
    });

    it('lets a webhook be an act’s target instead of a user', async () => {
      await sql`insert into admin_audit (action_id, action, admin_id, target_user_id, target_webhook_id, until, at)
        values ('0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f5a02', 'create_webhook', ${suspension.admin_id}, null,
                '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f6a01', null, ${suspension.at + 1})`.execute(store.db);
      expect((await auditRows('admin_audit')).map((row) => [row.action, row.target_user_id, row.target_webhook_id])).toEqual([
        ['suspend', suspension.target_user_id, null],
        ['create_webhook', null, '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f6a01'],
      ]);
    });

    it('creates the webhooks table in every version and the bookkeeping beside them', async () => {
      expect(await tables()).toEqual(
        expect.arrayContaining(['webhooks', 'webhooks__v2', 'webhook_secrets', 'webhook_positions', 'webhook_deliveries']),
      );
      expect(await tables()).not.toContain('admin_audit__v2_next');
    });

    it('goes down (the webhooks’ acts leave the audit, the users’ stay) and up again', async () => {
      await migrateTo(store.db, '0027_sync_changes');
      expect(await tables()).not.toContain('webhooks');
      expect((await auditRows('admin_audit')).map((row) => row.action)).toEqual(['suspend']);
      await migrateToLatest(store.db);
      expect(await auditRows('admin_audit')).toEqual([{ ...suspension, target_webhook_id: null }]);
      expect(await tables()).toContain('webhooks__v2');
    });
  });
}
