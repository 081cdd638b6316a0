// Parley's partition assigner for kafkajs consumer groups: balanced and
// sticky, plus what the handover between two members needs.
//
// Every member says in its JoinGroup metadata (userData) which partitions it
// holds and which it is still giving up, and a nonce fresh for that join. The
// leader keeps each member's holdings up to its fair share, so a rebalance
// moves as few partitions as possible (each moved partition costs the command
// processor a state restore). A member that gains a partition another member
// held waits until that member's "handover token" — an offset commit whose
// metadata names its nonce — shows it finished the partition and heard
// onRevoked (see member.ts).
//
// kafkajs only hands us the protocol's `assign` (on the leader) and
// `protocol` (every join); the group coordination itself is Kafka's.

import kafkajs, { type Assigner, type GroupMember, type GroupMemberAssignment, type PartitionAssigner } from 'kafkajs';

const { AssignerProtocol } = kafkajs;

export const assignerName = 'ParleySticky';
const assignerVersion = 1;

/** What a member tells the group on each join. */
export interface MemberClaims {
  /** Partitions (of its one topic) the member holds. */
  owned: number[];
  /** Partitions taken away whose onRevoked / handover token is still pending. */
  releasing: number[];
  /** Fresh for every join; the handover token of this member names it. */
  nonce: string;
}

export interface DecodedMember {
  memberId: string;
  topics: string[];
  claims: MemberClaims;
}

export function encodeClaims(claims: MemberClaims): Buffer {
  return Buffer.from(JSON.stringify({ v: 1, ...claims }), 'utf8');
}

function isIntArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((p) => Number.isInteger(p) && p >= 0);
}

/** Claims of a member; a member of another client (or version) claims nothing. */
export function decodeClaims(userData: Buffer | null | undefined): MemberClaims {
  const none: MemberClaims = { owned: [], releasing: [], nonce: '' };
  if (!userData || userData.length === 0) return none;
  try {
    const parsed: unknown = JSON.parse(userData.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) return none;
    const { owned, releasing, nonce } = parsed as Record<string, unknown>;
    return {
      owned: isIntArray(owned) ? owned : [],
      releasing: isIntArray(releasing) ? releasing : [],
      nonce: typeof nonce === 'string' ? nonce : '',
    };
  } catch {
    return none;
  }
}

export function decodeMember(member: GroupMember): DecodedMember {
  const metadata = AssignerProtocol.MemberMetadata.decode(member.memberMetadata);
  return {
    memberId: member.memberId,
    topics: metadata?.topics ?? [],
    claims: decodeClaims(metadata?.userData),
  };
}

/**
 * Balanced (counts differ by at most one) and sticky: a member keeps what it
 * holds up to its share; the larger shares go to the members holding most.
 * A partition claimed by two members goes to the first that has room (by
 * holding size, then member id). Result: member id → partitions ascending,
 * for every member.
 */
export function stickyAssignment(
  partitions: readonly number[],
  members: readonly { id: string; owned: readonly number[] }[],
): Map<string, number[]> {
  const result = new Map<string, number[]>();
  if (members.length === 0) return result;
  const valid = new Set(partitions);
  const holdings = members
    .map((m) => ({ id: m.id, owned: [...new Set(m.owned)].filter((p) => valid.has(p)).sort((a, b) => a - b) }))
    .sort((a, b) => b.owned.length - a.owned.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const base = Math.floor(partitions.length / members.length);
  const extra = partitions.length % members.length;
  const quota = new Map<string, number>();
  holdings.forEach((m, i) => quota.set(m.id, base + (i < extra ? 1 : 0)));

  // A partition two members claim (a handover still under way) is kept only
  // after the ones a member holds alone.
  const claims = new Map<number, number>();
  for (const m of holdings) for (const p of m.owned) claims.set(p, (claims.get(p) ?? 0) + 1);
  const taken = new Set<number>();
  for (const m of holdings) {
    const preferred = [...m.owned.filter((p) => claims.get(p) === 1), ...m.owned.filter((p) => claims.get(p)! > 1)];
    const keep = preferred.filter((p) => !taken.has(p)).slice(0, quota.get(m.id));
    for (const p of keep) taken.add(p);
    result.set(m.id, keep);
  }
  const free = [...partitions].sort((a, b) => a - b).filter((p) => !taken.has(p));
  for (const m of holdings) {
    const mine = result.get(m.id)!;
    const want = quota.get(m.id)! - mine.length;
    if (want > 0) mine.push(...free.splice(0, want));
    mine.sort((a, b) => a - b);
  }
  return result;
}

/**
 * The kafkajs PartitionAssigner of one consumer. `claims` is asked on every
 * join (kafkajs calls `protocol` synchronously while building JoinGroup).
 * `only`: the partitions a group-less consumer (a group of one) reads, when
 * not every one.
 */
export function parleyAssigner(claims: () => MemberClaims, only?: readonly number[]): PartitionAssigner {
  return ({ cluster }) => {
    const assigner: Assigner = {
      name: assignerName,
      version: assignerVersion,

      // kafkajs awaits it; the plan itself needs nothing asynchronous.
      assign({ members, topics }): Promise<GroupMemberAssignment[]> {
        const decoded = members.map(decodeMember);
        const byMember = new Map<string, Record<string, number[]>>(decoded.map((m) => [m.memberId, {}]));
        for (const topic of topics) {
          // Members of one group may subscribe to different topics (one
          // consume() call = one topic); each topic is shared among its own.
          const subscribers = decoded.filter((m) => m.topics.includes(topic));
          const partitions = cluster
            .findTopicPartitionMetadata(topic)
            .map((m) => m.partitionId)
            .filter((p) => only === undefined || only.includes(p));
          const plan = stickyAssignment(
            partitions,
            subscribers.map((m) => ({ id: m.memberId, owned: m.claims.owned })),
          );
          for (const [memberId, assigned] of plan) byMember.get(memberId)![topic] = assigned;
        }
        return Promise.resolve(
          [...byMember].map(([memberId, assignment]) => ({
            memberId,
            memberAssignment: AssignerProtocol.MemberAssignment.encode({
              version: assignerVersion,
              assignment,
              userData: Buffer.alloc(0),
            }),
          })),
        );
      },

      protocol({ topics }) {
        return {
          name: assignerName,
          metadata: AssignerProtocol.MemberMetadata.encode({
            version: assignerVersion,
            topics,
            userData: encodeClaims(claims()),
          }),
        };
      },
    };
    return assigner;
  };
}
