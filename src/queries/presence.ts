// What queries need from presence: is a user online, and when were they last seen.

export interface PresenceStatus {
  online: boolean;
  last_seen_at: number | null;
}

export interface PresenceReader {
  statusOf(userId: string): Promise<PresenceStatus>;
}
