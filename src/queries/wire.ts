// Read-model rows → the JSON objects of API.md (snake_case, epoch ms).

import type { Selectable } from 'kysely';
import type { MessagesTable, UsersTable } from '../store/schema.ts';

export interface UserView {
  id: string;
  username: string;
  display_name: string;
  avatar_url: string | null;
  bio: string;
  created_at: number;
  /** The account was deleted: its profile is erased (username and display name read ''). */
  deleted: boolean;
  /** A bot account: made by an admin, acting with API tokens (API.md "Bots"). */
  bot: boolean;
}

/** The user's own profile: the public one, with the email and whether it is confirmed. */
export interface MeView extends UserView {
  email: string;
  email_verified: boolean;
}

export interface MessageView {
  id: string;
  room_id: string;
  seq: number;
  sender_id: string;
  client_msg_id: string;
  /** null once erased. */
  content: string | null;
  mime_type: string;
  reply_to: string | null;
  attachments: unknown[];
  mentions: string[];
  reactions: Record<string, string[]>;
  created_at: number;
  edited_at: number | null;
  deleted: boolean;
  /** What the message said is gone from every copy (its key destroyed): so far, because it was deleted. */
  erased: boolean;
}

export const userView = (row: Selectable<UsersTable>): UserView => {
  const deleted = row.deleted_at !== null;
  return {
    id: row.id,
    // A deleted account's row holds a placeholder that keeps the unique index happy.
    username: deleted ? '' : row.username,
    display_name: row.display_name,
    avatar_url: row.avatar_url,
    bio: row.bio,
    created_at: row.created_at,
    deleted,
    bot: row.is_bot === 1,
  };
};

export const meView = (row: Selectable<UsersTable>): MeView => ({
  ...userView(row),
  // A bot has no email (its row holds a placeholder that keeps the unique index happy).
  email: row.is_bot === 1 ? '' : row.email,
  email_verified: row.email_verified_at !== null,
});

export const messageView = (row: Selectable<MessagesTable>): MessageView => {
  const deleted = row.deleted === 1;
  return {
    id: row.id,
    room_id: row.room_id,
    seq: row.seq,
    sender_id: row.sender_id,
    client_msg_id: row.client_msg_id,
    // A deleted message keeps its place in history, not its content.
    content: deleted ? null : row.content,
    mime_type: row.mime_type,
    reply_to: row.reply_to,
    attachments: deleted ? [] : (JSON.parse(row.attachments) as unknown[]),
    mentions: row.mentions === null ? [] : (JSON.parse(row.mentions) as string[]),
    reactions: JSON.parse(row.reactions) as Record<string, string[]>,
    created_at: row.created_at,
    edited_at: row.edited_at === null ? null : row.edited_at,
    deleted,
    erased: deleted,
  };
};
