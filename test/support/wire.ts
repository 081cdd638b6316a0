// The JSON objects of docs/API.md as the end-to-end suites read them. The
// suites assert on whole shapes (toEqual, toMatchObject); these types only name
// the fields a test reads or passes on, so that a typo there fails `tsc`.

/** A JSON object as it came off the wire, before a test says what it holds. */
export type JsonObject = Record<string, unknown>;

/** `{"error": {code, message, details?}}`; `validation_failed` details are one `{path, message}` per problem. */
export interface ErrorBody {
  error: { code: string; message: string; details?: { path: string; message: string }[] };
}

export interface User {
  id: string;
  username: string;
  display_name: string;
  avatar_url: string | null;
  bio: string;
  created_at: number;
}

export interface PresenceStatus {
  online: boolean;
  last_seen_at: number | null;
}

/** One entry of GET /friends. */
export interface Friend extends User {
  since: number;
  status: PresenceStatus;
}

/** What register, login and refresh answer. */
export interface Session {
  user: User;
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

export interface FriendRequest {
  id: string;
  from_user_id: string;
  to_user_id: string;
  status: 'pending' | 'accepted' | 'rejected' | 'cancelled';
  created_at: number;
}

export interface Friendship {
  user_ids: string[];
  since: number;
}

export interface Message {
  id: string;
  room_id: string;
  seq: number;
  sender_id: string;
  client_msg_id: string;
  content: string;
  mime_type: string;
  reply_to: string | null;
  attachments: JsonObject[];
  mentions: string[];
  reactions: Record<string, string[]>;
  created_at: number;
  edited_at: number | null;
  deleted: boolean;
}

export interface Member {
  user_id: string;
  role: string;
  joined_at: number;
  last_read_seq: number;
}

/** GET /rooms/:id (and what creating a room answers). */
export interface Room {
  id: string;
  type: 'group' | 'direct';
  name: string;
  topic: string;
  closed: boolean;
  created_by: string;
  created_at: number;
  last_seq: number;
  members: Member[];
}

/** One entry of GET /rooms. */
export interface RoomSummary {
  id: string;
  type: 'group' | 'direct';
  name: string;
  topic: string;
  closed: boolean;
  last_seq: number;
  last_message: Message | null;
  unread_count: number;
  last_read_seq: number;
}
