// What queries need from presence: is a user online, and when were they last
// seen. Only those who may see it do (presence-visibility.ts).

export interface PresenceStatus {
  online: boolean;
  last_seen_at: number | null;
}

export interface PresenceReader {
  /** The status of `userId` if `viewerId` may see it (themself, a friend, a room peer, no block between); else null. */
  statusOf(userId: string, viewerId: string): Promise<PresenceStatus | null>;
  statusesOf(userIds: string[]): Promise<Map<string, PresenceStatus>>;
}
