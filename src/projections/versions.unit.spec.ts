// VersionedTablesPlugin: queries written against the plain table names run
// against a version's tables, whatever shape they take.

import {
  DummyDriver,
  Kysely,
  MysqlAdapter,
  MysqlIntrospector,
  MysqlQueryCompiler,
  OperationNodeTransformer,
  sql,
  TableNode,
  type KyselyPlugin,
} from 'kysely';
import { describe, expect, test } from 'vitest';
import { tableName } from '../store/dialect.ts';
import type { Database } from '../store/schema.ts';
import { versionedName, versionedProjectionName, VersionedTablesPlugin } from './versions.ts';

const names = ['users', 'rooms', 'room_members', 'messages', 'messages_fts'];
const dry = () =>
  new Kysely<Database>({
    dialect: {
      createAdapter: () => new MysqlAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new MysqlIntrospector(db),
      createQueryCompiler: () => new MysqlQueryCompiler(),
    },
  });

describe('VersionedTablesPlugin', () => {
  const db = dry().withPlugin(VersionedTablesPlugin.at({ names }, 3));

  test('names: version 1 is the plain name', () => {
    expect(versionedName('messages', 1)).toBe('messages');
    expect(versionedName('messages', 3)).toBe('messages__v3');
    expect(versionedProjectionName('chat', 1)).toBe('chat');
    expect(versionedProjectionName('chat', 3)).toBe('chat@v3');
  });

  test('renames tables in from, joins, aliases and qualified references; leaves aliases and other tables alone', () => {
    const query = db
      .selectFrom('room_members as m')
      .innerJoin('rooms as r', 'r.id', 'm.room_id')
      .leftJoin('messages', 'messages.id', 'r.last_message_id')
      .innerJoin('projection_offsets', 'projection_offsets.projection', 'r.name')
      .select(['r.id', 'messages.content', 'm.user_id'])
      .where('m.user_id', '=', 'u')
      .compile();
    expect(query.sql).toBe(
      'select `r`.`id`, `messages__v3`.`content`, `m`.`user_id` from `room_members__v3` as `m` ' +
        'inner join `rooms__v3` as `r` on `r`.`id` = `m`.`room_id` ' +
        'left join `messages__v3` on `messages__v3`.`id` = `r`.`last_message_id` ' +
        'inner join `projection_offsets` on `projection_offsets`.`projection` = `r`.`name` where `m`.`user_id` = ?',
    );
  });

  test('renames the targets of inserts, updates and deletes, and subqueries', () => {
    expect(
      db
        .insertInto('users')
        .values({ id: 'a' } as never)
        .compile().sql,
    ).toBe('insert into `users__v3` (`id`) values (?)');
    expect(
      db.updateTable('rooms').set({ name: 'n' }).where('id', 'in', db.selectFrom('messages').select('room_id')).compile().sql,
    ).toBe('update `rooms__v3` set `name` = ? where `id` in (select `room_id` from `messages__v3`)');
    expect(db.deleteFrom('room_members').where('room_id', '=', 'r').compile().sql).toBe(
      'delete from `room_members__v3` where `room_id` = ?',
    );
  });

  test('renames sql.table() in raw SQL, not a bare word', () => {
    const raw = sql`select * from ${sql.table('messages')} join messages_fts using (id) where ${sql.ref('messages.id')} = 1`;
    expect(raw.compile(db).sql).toBe('select * from `messages__v3` join messages_fts using (id) where `messages__v3`.`id` = 1');
  });

  test('version 1 changes nothing; a function version is read at every query', () => {
    expect(dry().withPlugin(VersionedTablesPlugin.at({ names }, 1)).selectFrom('users').selectAll().compile().sql).toBe(
      'select * from `users`',
    );
    let version = 1;
    const following = dry().withPlugin(new VersionedTablesPlugin([{ names, version: () => version }]));
    const sqlNow = () => following.selectFrom('users').selectAll().compile().sql;
    expect(sqlNow()).toBe('select * from `users`');
    version = 2;
    expect(sqlNow()).toBe('select * from `users__v2`');
    version = 1;
    expect(sqlNow()).toBe('select * from `users`');
  });

  test("bulk writes' table names (store/dialect.ts tableName) follow the version as compiled queries do", () => {
    let version = 1;
    const following = dry().withPlugin(new VersionedTablesPlugin([{ names, version: () => version }]));
    const compiled = (table: string) => sql`${sql.table(table)}`.compile(following).sql;
    for (const v of [1, 4, 1]) {
      version = v;
      for (const table of ['users', 'messages_fts', 'projection_offsets'])
        expect(tableName(following, table)).toBe(compiled(table));
    }
    expect(tableName(following, 'users')).toBe('`users`');
    version = 4;
    expect(tableName(following, 'users')).toBe('`users__v4`');
  });

  test('a plugin that cannot tell its names still renames the tables of bulk writes', () => {
    class Prefix extends OperationNodeTransformer {
      protected override transformTable(node: TableNode): TableNode {
        return TableNode.create(`archive_${node.table.identifier.name}`);
      }
    }
    const prefixing: KyselyPlugin = {
      transformQuery: (args) => new Prefix().transformNode(args.node, args.queryId),
      transformResult: (args) => Promise.resolve(args.result),
    };
    const db = dry().withPlugin(VersionedTablesPlugin.at({ names }, 2)).withPlugin(prefixing);
    expect(tableName(db, 'users')).toBe('`archive_users__v2`');
  });
});
