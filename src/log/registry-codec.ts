// The event codec for distributed mode: values in the Confluent wire format
// (0x00, the 4-byte schema id of a Confluent-compatible schema registry, the
// Avro body), through @kafkajs/confluent-schema-registry.
//
// At start, every version of every type in `schemas/` is registered, oldest
// first, under a subject named after its record (`parley.events.MessageSent`,
// like Confluent's RecordNameStrategy), after setting that subject's
// compatibility (FULL_TRANSITIVE by default: each version reads and is read by
// all earlier ones, what schemas/README.md asks). The registry refuses an
// incompatible version there, at start, before anything is written with it.
// Registering is idempotent: a schema the subject already has keeps its id.
//
// Writing uses the id of the latest version. Reading takes Confluent-framed
// values and the single-object values (C3 01 + fingerprint) that the embedded
// default writes, so a log begun without a registry stays readable. All the
// Avro work is src/log/avro-codec.ts's; this module only knows ids.
//
// Decoding stays synchronous: the writer schema of every id met at start
// (ours, and any other version of our subjects, e.g. a newer one registered
// by a newer deployment) is held in memory. An id first met later is fetched
// in the background; until it arrives, decode throws a
// RegistrySchemaPendingError whose `ready` promise says when to try again
// (or call `prefetch(values)` first, where waiting is possible).

import confluent, { type COMPATIBILITY as CompatibilityLevel } from '@kafkajs/confluent-schema-registry';
import type { EventCodec } from './codec.ts';
import { AvroCodecError, createAvroCodec, type AvroCodec } from './avro-codec.ts';
import { loadSchemaCatalog, type AvroSchemaJson, type SchemaVersion } from './schema-catalog.ts';

const { SchemaRegistry, SchemaType, COMPATIBILITY } = confluent;
type SchemaRegistryClient = InstanceType<typeof SchemaRegistry>;

/** A Confluent compatibility level, as a string (`'FULL_TRANSITIVE'`). */
export type Compatibility = `${CompatibilityLevel}`;

export interface RegistryCodecOptions {
  /** Base URL of the Confluent-compatible API (`http://host:8081`, or Apicurio's `…/apis/ccompat/v7`). */
  url: string;
  /** The folder holding `<event_type>/v<n>.avsc`. */
  schemasDir: string;
  /** Set on every subject at start; default FULL_TRANSITIVE. */
  compatibility?: Compatibility;
  /** Per HTTP request; default 10 s. */
  requestTimeoutMs?: number;
  /**
   * Subjects registered at once (the versions of one subject always go in
   * order). Default 1: the local stack's Apicurio on H2 fails concurrent
   * registrations (lock timeouts, rolled-back transactions), and one at a
   * time takes well under a second for the whole catalog on a warm registry.
   */
  concurrency?: number;
}

export interface RegisteredVersion {
  readonly type: string;
  readonly version: number;
  readonly subject: string;
  readonly id: number;
}

export interface RegistryCodec extends EventCodec {
  /** Every version of every type with the registry id it got at start, in catalog order. */
  readonly registered: readonly RegisteredVersion[];
  /** Schema ids written by `encode`, per event type (the latest version's). */
  readonly writeIds: ReadonlyMap<string, number>;
  /**
   * Fetches the writer schemas of Confluent-framed values whose ids are not
   * known yet, so that `decode` of those values does not throw
   * RegistrySchemaPendingError. Ids the registry does not have are left to
   * `decode`'s error.
   */
  prefetch(values: Iterable<Buffer>): Promise<void>;
  listSchemas: AvroCodec['listSchemas'];
}

/**
 * Thrown by `decode` for a schema id first met at run time, while its schema
 * is fetched. Retriable: await `ready` (it never rejects), then decode again.
 */
export class RegistrySchemaPendingError extends AvroCodecError {
  readonly schemaId: number;
  readonly ready: Promise<void>;
  constructor(eventType: string, schemaId: number, ready: Promise<void>, lastFailure: string | undefined) {
    super(
      eventType,
      `cannot decode ${eventType} yet: schema id ${schemaId} is new to this process and is being fetched from the registry` +
        (lastFailure === undefined ? '' : ` (the last try failed: ${lastFailure})`) +
        '; await error.ready and decode again',
    );
    this.name = 'RegistrySchemaPendingError';
    this.schemaId = schemaId;
    this.ready = ready;
  }
}

const CONFLUENT_MAGIC = 0x00;
const CONFLUENT_HEADER = 5;
const SINGLE_OBJECT_HEADER = 10;
/** How long an id the registry said it does not have is taken as missing before asking again. */
const MISSING_RETRY_MS = 30_000;
const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

export async function createRegistryCodec(options: RegistryCodecOptions): Promise<RegistryCodec> {
  const url = options.url.replace(/\/+$/, '');
  const compatibility: Compatibility = options.compatibility ?? COMPATIBILITY.FULL_TRANSITIVE;
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const catalog = loadSchemaCatalog(options.schemasDir);

  /** Writer schema by registry id: everything decode can resolve without waiting. */
  const schemasById = new Map<number, AvroSchemaJson>();
  const missingSince = new Map<number, number>();
  const pending = new Map<number, Promise<void>>();
  const lastFailure = new Map<number, string>();

  // The Avro codec does the local checks (every version parses, the latest
  // reads all older ones) before anything is sent to the registry.
  const avro = createAvroCodec({ schemasDir: options.schemasDir, registryLookup: (id) => schemasById.get(id) });

  const registry: SchemaRegistryClient = new SchemaRegistry({ host: url, clientId: 'parley' });

  async function http(method: 'GET' | 'PUT', path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { Accept: CONTENT_TYPE, ...(body === undefined ? {} : { 'Content-Type': CONTENT_TYPE }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON: keep the text for the message
    }
    return { status: response.status, json };
  }
  const messageOf = (json: unknown): string =>
    typeof json === 'object' && json !== null && 'message' in json ? String(json.message) : JSON.stringify(json);

  // ---- registration, per subject
  const subjects = groupBySubject(catalog.types);
  const registered = new Map<SchemaVersion, RegisteredVersion>();

  async function registerSubject(subject: string, versions: readonly SchemaVersion[]): Promise<void> {
    const config = await retryTransient(configRace, async () => {
      const answer = await http('PUT', `/config/${encodeURIComponent(subject)}`, { compatibility });
      // 409 here is Apicurio losing a race with another process creating the
      // same subject's rule: the next try updates it.
      if (answer.status >= 500 || answer.status === 409)
        throw Object.assign(new Error(messageOf(answer.json)), { status: answer.status });
      return answer;
    }).catch((error: unknown) => ({
      status: (error as { status?: number }).status ?? 0,
      json: { message: error instanceof Error ? error.message : String(error) },
    }));
    if (config.status !== 200) {
      throw new Error(
        `schema registry at ${url}: setting compatibility ${compatibility} on subject ${subject} failed (HTTP ${config.status}): ${messageOf(config.json)}`,
      );
    }
    for (const version of versions) {
      let id: number;
      try {
        // The library checks that the subject's compatibility is the one
        // asked for (set just above) and registers; a schema the subject
        // already has answers with its existing id.
        ({ id } = await retryTransient(registerRace, () =>
          registry.register(
            { type: SchemaType.AVRO, schema: JSON.stringify(version.schema) },
            { subject, compatibility: COMPATIBILITY[compatibility], updateConfig: false },
          ),
        ));
      } catch (error) {
        const status = (error as { status?: number }).status;
        const reason = (error as Error).message.replace(/^parley - /, '');
        const what =
          status === 409
            ? `the registry refused ${version.type} v${version.version} (${version.file}) for subject ${subject}: it is not ${compatibility}-compatible with the versions registered before it`
            : `registering ${version.type} v${version.version} (${version.file}) under subject ${subject} failed${status === undefined ? '' : ` (HTTP ${status})`}`;
        throw new Error(`schema registry at ${url}: ${what}: ${reason}`, { cause: error });
      }
      registered.set(version, { type: version.type, version: version.version, subject, id });
      schemasById.set(id, version.schema);
    }
    // Versions of the subject this process has no file for (a newer
    // deployment's): fetched now, so their events decode without waiting.
    const listed = await http('GET', `/subjects/${encodeURIComponent(subject)}/versions`);
    if (listed.status !== 200 || !Array.isArray(listed.json)) return;
    for (const number of listed.json as number[]) {
      const answer = await http('GET', `/subjects/${encodeURIComponent(subject)}/versions/${number}`);
      const found = answer.json as { id?: number; schema?: string };
      if (
        answer.status === 200 &&
        typeof found.id === 'number' &&
        typeof found.schema === 'string' &&
        !schemasById.has(found.id)
      ) {
        schemasById.set(found.id, found.schema);
      }
    }
  }

  const queue = [...subjects];
  const workers = Array.from({ length: Math.max(1, options.concurrency ?? 1) }, async () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) await registerSubject(...next);
  });
  await Promise.all(workers);

  const registeredList = [...catalog.types.values()].flat().map((version) => registered.get(version)!);
  const writeIds = new Map<string, number>();
  const headers = new Map<string, Buffer>();
  for (const [type, versions] of catalog.types) {
    const id = registered.get(versions[versions.length - 1]!)!.id;
    writeIds.set(type, id);
    const header = Buffer.alloc(CONFLUENT_HEADER);
    header.writeUInt32BE(id, 1);
    headers.set(type, header);
  }

  // ---- ids first met at run time
  function fetchSchema(id: number): Promise<void> {
    let promise = pending.get(id);
    if (promise !== undefined) return promise;
    promise = http('GET', `/schemas/ids/${id}`)
      .then(({ status, json }) => {
        const schema = (json as { schema?: unknown }).schema;
        if (status === 200 && typeof schema === 'string') {
          schemasById.set(id, schema);
          missingSince.delete(id);
          lastFailure.delete(id);
        } else if (status === 404) {
          missingSince.set(id, Date.now());
        } else {
          lastFailure.set(id, `HTTP ${status}: ${messageOf(json)}`);
        }
      })
      .catch((error: unknown) => {
        lastFailure.set(id, (error as Error).message);
      })
      .finally(() => pending.delete(id));
    pending.set(id, promise);
    return promise;
  }

  /** True when decode may go ahead: the id is known, or known to be missing (decode then says so). */
  function settled(id: number): boolean {
    if (schemasById.has(id)) return true;
    const since = missingSince.get(id);
    return since !== undefined && Date.now() - since < MISSING_RETRY_MS;
  }

  function encode(type: string, data: unknown): Buffer {
    // Validation, error messages and the body are the Avro codec's; only the
    // header differs (5 bytes instead of single-object's 10).
    const singleObject = avro.encode(type, data);
    const out = Buffer.allocUnsafe(singleObject.length - SINGLE_OBJECT_HEADER + CONFLUENT_HEADER);
    headers.get(type)!.copy(out, 0);
    singleObject.copy(out, CONFLUENT_HEADER, SINGLE_OBJECT_HEADER);
    return out;
  }

  function decode(type: string, value: Buffer): unknown {
    if (value.length >= CONFLUENT_HEADER && value[0] === CONFLUENT_MAGIC) {
      const id = value.readUInt32BE(1);
      if (!settled(id)) throw new RegistrySchemaPendingError(type, id, fetchSchema(id), lastFailure.get(id));
    }
    return avro.decode(type, value);
  }

  async function prefetch(values: Iterable<Buffer>): Promise<void> {
    const ids = new Set<number>();
    for (const value of values) {
      if (value.length >= CONFLUENT_HEADER && value[0] === CONFLUENT_MAGIC) {
        const id = value.readUInt32BE(1);
        if (!settled(id)) ids.add(id);
      }
    }
    await Promise.all([...ids].map(fetchSchema));
  }

  return {
    encode,
    decode,
    personalFields: (type) => avro.personalFields(type),
    prefetch,
    registered: registeredList,
    writeIds,
    listSchemas: () => avro.listSchemas(),
  };
}

/** A server error, or no answer (refused, reset, timed out): worth another try. */
function serverTrouble(error: unknown): boolean {
  const { status, name, message } = error as { status?: number; name?: string; message?: string };
  if (typeof status === 'number') return status >= 500;
  return name === 'TimeoutError' || name === 'AbortError' || /fetch failed|ECONN|socket hang up|network/i.test(message ?? '');
}
/** Setting a config: also a 409, another process having created the subject's rule first (Apicurio). */
const configRace = (error: unknown) => (error as { status?: number }).status === 409 || serverTrouble(error);
/**
 * Registering: also a 409 that says "already exists", another process having
 * created the subject or version first (Apicurio). Any other 409 is the
 * registry refusing an incompatible schema: final.
 */
const registerRace = (error: unknown) =>
  ((error as { status?: number }).status === 409 && /already exists/i.test((error as Error).message)) || serverTrouble(error);

/**
 * Runs `attempt` again while it fails in a way `transient` accepts: several
 * processes starting at once make registries trip over each other (Apicurio
 * on H2 answers 500 for lost races). About 20 s of tries in all.
 */
async function retryTransient<T>(transient: (error: unknown) => boolean, attempt: () => Promise<T>): Promise<T> {
  for (let tries = 1, delayMs = 100; ; tries++, delayMs = Math.min(delayMs * 2, 3_000)) {
    try {
      return await attempt();
    } catch (error) {
      if (!transient(error) || tries >= 10) throw error;
      await new Promise((resolve) => setTimeout(resolve, delayMs / 2 + Math.random() * delayMs));
    }
  }
}

/** Subject (the record's full name) → the versions to register under it, oldest first. */
function groupBySubject(types: ReadonlyMap<string, readonly SchemaVersion[]>): [string, SchemaVersion[]][] {
  const subjects = new Map<string, SchemaVersion[]>();
  for (const [type, versions] of types) {
    const names = new Set(versions.map((version) => version.avroType.name!));
    if (names.size !== 1) {
      throw new Error(
        `${type}: its versions name different records (${[...names].join(', ')}); a record is never renamed ` +
          '(schemas/README.md), and the registry subject is the record name',
      );
    }
    const subject = [...names][0]!;
    const taken = subjects.get(subject);
    if (taken !== undefined) {
      throw new Error(`${type} and ${taken[0]!.type} both name their record ${subject}; the registry subject is the record name`);
    }
    subjects.set(subject, [...versions]);
  }
  return [...subjects];
}
