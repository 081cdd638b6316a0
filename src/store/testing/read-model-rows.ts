// Rows of the read model for tests that seed a store directly: every column a
// test does not care about at its default, what it names given.

import type { Insertable } from 'kysely';
import type { RoomsTable, UsersTable } from '../schema.ts';

/** A registered, active user: email `<username>@example.org`, display name the username. */
export function userRow(id: string, username: string, overrides: Partial<Insertable<UsersTable>> = {}): Insertable<UsersTable> {
  return {
    id,
    username,
    email: `${username}@example.org`,
    display_name: username,
    bio: '',
    avatar_url: null,
    created_at: 1,
    deleted_at: null,
    email_verified_at: null,
    ...overrides,
  };
}

/** An open group room with no message yet. */
export function groupRoomRow(
  id: string,
  name: string,
  createdBy: string,
  overrides: Partial<Insertable<RoomsTable>> = {},
): Insertable<RoomsTable> {
  return {
    id,
    type: 'group',
    name,
    topic: '',
    created_by: createdBy,
    created_at: 1,
    last_seq: 0,
    last_message_id: null,
    closed: 0,
    retention_days: null,
    ...overrides,
  };
}
