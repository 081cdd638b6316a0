// Where a room-scoped token (a bot's API token limited to some rooms: API.md
// "Bots") may go over REST: the routes of its rooms (messages, members,
// reads, pins … all live under /api/v1/rooms/{id}), answering an invitation
// to one of them (a bot is invited as anyone who is not a friend: it joins by
// accepting), uploads (a message's attachments: the sign route checks the
// room named in its body, uploads/routes.ts), and reading its own profile.
// Anything else — other rooms, the
// room list, search, friends, the sync feed, admin routes — is refused, so a
// leaked scoped token reaches no further than the rooms it names.

const ROOM_PATH = /^\/api\/v1\/rooms\/([^/]+)(?:\/|$)/;
const INVITATION_ANSWER = /^\/api\/v1\/invitations\/([^/]+)\/(?:accept|decline)$/;

export function scopeAllows(rooms: readonly string[], method: string, path: string): boolean {
  if (path === '/api/v1/users/me') return method === 'GET' || method === 'HEAD';
  if (path.startsWith('/api/v1/uploads/')) return true;
  const room = (ROOM_PATH.exec(path) ?? INVITATION_ANSWER.exec(path))?.[1];
  return room !== undefined && rooms.includes(room.toLowerCase());
}
