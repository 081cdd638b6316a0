// What queries need from presence: is a user online, and when were they last
// seen. A block hides both, in both directions.

export interface PresenceStatus {
  online: boolean;
  last_seen_at: number | null;
}

export interface PresenceReader {
  /** The status of `userId` as `viewerId` may see it. */
  statusOf(userId: string, viewerId: string): Promise<PresenceStatus>;
  statusesOf(userIds: string[]): Promise<Map<string, PresenceStatus>>;
}
