// The JSON objects of docs/API.md as the end-to-end suites read them. The
// suites assert on whole shapes (toEqual, toMatchObject); these types only name
// the fields a test reads or passes on, so that a typo there fails `tsc`. The
// objects the server declares are its own view types: a field renamed there
// shows up here at compile time.

import type { PresenceStatus } from '../../src/queries/presence.ts';
import type { RoomDetail, RoomSummary } from '../../src/queries/rooms-queries.ts';
import type { FriendRequestView } from '../../src/queries/social-queries.ts';
import type { MessageView, UserView } from '../../src/queries/wire.ts';

export type { PresenceStatus, RoomSummary };
export type User = UserView;
export type FriendRequest = FriendRequestView;
export type Message = MessageView;
/** GET /rooms/:id (and what creating a room answers). */
export type Room = RoomDetail;
export type Member = RoomDetail['members'][number];

/** A JSON object as it came off the wire, before a test says what it holds. */
export type JsonObject = Record<string, unknown>;

/** `{"error": {code, message, details?}}`; `validation_failed` details are one `{path, message}` per problem. */
export interface ErrorBody {
  error: { code: string; message: string; details?: { path: string; message: string }[] };
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

export interface Friendship {
  user_ids: string[];
  since: number;
}
