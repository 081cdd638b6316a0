// Full-text search over message content: FTS5 on SQLite (kept in sync by
// triggers, so the projection stays the same on both engines), a FULLTEXT
// index on MySQL.

import { sql, type Kysely } from 'kysely';
import { engineOf } from '../src/store/dialect.ts';

export async function up(db: Kysely<unknown>): Promise<void> {
  if (engineOf(db) === 'mysql') {
    await sql`alter table messages add fulltext index messages_content_ft (content)`.execute(db);
    return;
  }
  await sql`create virtual table messages_fts using fts5(content, content='messages', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2')`.execute(
    db,
  );
  await sql`insert into messages_fts(rowid, content) select rowid, content from messages`.execute(db);
  await sql`create trigger messages_fts_insert after insert on messages begin
      insert into messages_fts(rowid, content) values (new.rowid, new.content);
    end`.execute(db);
  await sql`create trigger messages_fts_delete after delete on messages begin
      insert into messages_fts(messages_fts, rowid, content) values ('delete', old.rowid, old.content);
    end`.execute(db);
  await sql`create trigger messages_fts_update after update of content on messages begin
      insert into messages_fts(messages_fts, rowid, content) values ('delete', old.rowid, old.content);
      insert into messages_fts(rowid, content) values (new.rowid, new.content);
    end`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (engineOf(db) === 'mysql') {
    await sql`alter table messages drop index messages_content_ft`.execute(db);
    return;
  }
  for (const trigger of ['messages_fts_insert', 'messages_fts_delete', 'messages_fts_update']) {
    await sql.raw(`drop trigger if exists ${trigger}`).execute(db);
  }
  await sql`drop table if exists messages_fts`.execute(db);
}
