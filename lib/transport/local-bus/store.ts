/**
 * The SQLite file behind the local bus: consumer groups with their binding keys, and one message
 * row per (publish, matching group). Every write goes through one GroupCommitter, so publishes,
 * takes, acks and retries of one event-loop turn share one transaction and one fsync.
 *
 * Message states: READY (waiting, FIFO by `seq`, the publish order), IN_FLIGHT (taken by a
 * consumer `owner` until `lease_until`), DELAYED (in a retry tier until `available_at`), PARKED.
 */
import { GroupCommitter } from '../../storage/group-commit';
import { openDurableSqlite, type SqliteDatabase } from '../../storage/sqlite';
import { anyTopicMatcher, type TopicMatcher } from './topic';

export const STATE = Object.freeze({ READY: 0, IN_FLIGHT: 1, PARKED: 2, DELAYED: 3 });

export interface MessageRow {
  seq: number;
  grp: string;
  routing_key: string;
  body: string;
  props: string;
  headers: string;
  state: number;
  attempt: number;
  redelivered: number;
  available_at: number;
  published_at: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS bus_groups (
  name TEXT PRIMARY KEY,
  binding_keys TEXT NOT NULL,
  declared_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS bus_messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  grp TEXT NOT NULL,
  routing_key TEXT NOT NULL,
  body TEXT NOT NULL,
  props TEXT NOT NULL,
  headers TEXT NOT NULL,
  state INTEGER NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 1,
  redelivered INTEGER NOT NULL DEFAULT 0,
  available_at INTEGER NOT NULL,
  owner TEXT,
  lease_until INTEGER,
  published_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS bus_messages_by_state ON bus_messages (grp, state, seq);
CREATE INDEX IF NOT EXISTS bus_messages_due ON bus_messages (grp, available_at) WHERE state = 3;
`;

interface Group {
  keys: string[];
  match: TopicMatcher;
}

export class BusStore {
  readonly db: SqliteDatabase;
  readonly committer: GroupCommitter;
  private groups = new Map<string, Group>();
  /** PRAGMA data_version at the last group load: changes when another connection commits. */
  private groupsVersion = -1;
  private readonly st: ReturnType<BusStore['prepare']>;

  constructor(file: string) {
    this.db = openDurableSqlite(file);
    this.db.exec(SCHEMA);
    this.st = this.prepare();
    this.committer = new GroupCommitter(this.db);
  }

  private prepare() {
    const db = this.db;
    return {
      groups: db.prepare('SELECT name, binding_keys FROM bus_groups'),
      bind: db.prepare('INSERT INTO bus_groups (name, binding_keys, declared_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET binding_keys = excluded.binding_keys'),
      insert: db.prepare('INSERT INTO bus_messages (grp, routing_key, body, props, headers, state, available_at, published_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?)'),
      promote: db.prepare('UPDATE bus_messages SET state = 0 WHERE grp = ? AND state = 3 AND available_at <= ?'),
      reclaim: db.prepare('UPDATE bus_messages SET state = 0, redelivered = 1, owner = NULL, lease_until = NULL WHERE grp = ? AND state = 1 AND lease_until <= ?'),
      ready: db.prepare('SELECT seq, grp, routing_key, body, props, headers, state, attempt, redelivered, available_at, published_at FROM bus_messages WHERE grp = ? AND state = 0 ORDER BY seq LIMIT ?'),
      take: db.prepare('UPDATE bus_messages SET state = 1, owner = ?, lease_until = ? WHERE seq = ?'),
      ack: db.prepare('DELETE FROM bus_messages WHERE seq = ? AND owner = ? AND state = 1'),
      retry: db.prepare('UPDATE bus_messages SET state = ?, attempt = ?, headers = ?, available_at = ?, redelivered = 0, owner = NULL, lease_until = NULL WHERE seq = ? AND owner = ? AND state = 1'),
      park: db.prepare('UPDATE bus_messages SET state = 2, headers = ?, owner = NULL, lease_until = NULL WHERE seq = ? AND owner = ? AND state = 1'),
      renew: db.prepare('UPDATE bus_messages SET lease_until = ? WHERE owner = ? AND state = 1'),
      release: db.prepare('UPDATE bus_messages SET state = 0, redelivered = 1, owner = NULL, lease_until = NULL WHERE owner = ? AND state = 1'),
      owners: db.prepare('SELECT DISTINCT owner FROM bus_messages WHERE state = 1 AND owner IS NOT NULL'),
      parked: db.prepare('SELECT seq, grp, routing_key, body, props, headers, state, attempt, redelivered, available_at, published_at FROM bus_messages WHERE grp = ? AND state = 2 ORDER BY seq'),
      unpark: db.prepare('UPDATE bus_messages SET state = 0, attempt = 1, headers = ?, available_at = ?, redelivered = 0 WHERE seq = ? AND state = 2'),
      stats: db.prepare('SELECT state, COUNT(*) AS n FROM bus_messages WHERE grp = ? GROUP BY state'),
    };
  }

  /** Groups with their matchers; reloaded when any connection (this or another process) committed. */
  currentGroups(): Map<string, Group> {
    const version = this.db.pragma('data_version', { simple: true }) as number;
    if (version !== this.groupsVersion || this.groups.size === 0) {
      const next = new Map<string, Group>();
      for (const r of this.st.groups.all() as Array<{ name: string; binding_keys: string }>) {
        const keys = JSON.parse(r.binding_keys) as string[];
        next.set(r.name, { keys, match: anyTopicMatcher(keys) });
      }
      this.groups = next;
      this.groupsVersion = version;
    }
    return this.groups;
  }

  bind(group: string, keys: readonly string[], now: number): void {
    this.st.bind.run(group, JSON.stringify(keys), now);
    // data_version does not change for our own commits: update the cache directly.
    this.groups.set(group, { keys: [...keys], match: anyTopicMatcher(keys) });
  }

  /** Inserts one row per group bound to the routing key; returns the groups. */
  insert(routingKey: string, body: string, props: string, headers: string, now: number): string[] {
    const matched: string[] = [];
    for (const [name, g] of this.currentGroups()) {
      if (!g.match(routingKey)) continue;
      this.st.insert.run(name, routingKey, body, props, headers, now, now);
      matched.push(name);
    }
    return matched;
  }

  /** Makes due retries ready (and, if asked, returns expired leases), then takes up to `limit` in publish order. */
  take(group: string, owner: string, limit: number, now: number, leaseMs: number, reclaim: boolean): MessageRow[] {
    this.st.promote.run(group, now);
    if (reclaim) this.st.reclaim.run(group, now);
    const rows = this.st.ready.all(group, limit) as MessageRow[];
    for (const r of rows) this.st.take.run(owner, now + leaseMs, r.seq);
    return rows;
  }

  /** Each returns false when the row is no longer ours (lease expired and reclaimed, or released). */
  ack(seq: number, owner: string): boolean {
    return this.st.ack.run(seq, owner).changes === 1;
  }

  retry(seq: number, owner: string, attempt: number, headers: string, availableAt: number, delayed: boolean): boolean {
    return this.st.retry.run(delayed ? STATE.DELAYED : STATE.READY, attempt, headers, availableAt, seq, owner).changes === 1;
  }

  park(seq: number, owner: string, headers: string): boolean {
    return this.st.park.run(headers, seq, owner).changes === 1;
  }

  renew(owner: string, until: number): void {
    this.st.renew.run(until, owner);
  }

  /** Returns an owner's unsettled messages to the queue, marked redelivered. */
  release(owner: string): number {
    return this.st.release.run(owner).changes;
  }

  owners(): string[] {
    return (this.st.owners.all() as Array<{ owner: string }>).map((r) => r.owner);
  }

  parked(group: string): MessageRow[] {
    return this.st.parked.all(group) as MessageRow[];
  }

  unpark(seq: number, headers: string, now: number): boolean {
    return this.st.unpark.run(headers, now, seq).changes === 1;
  }

  stats(group: string): Record<number, number> {
    const out: Record<number, number> = {};
    for (const r of this.st.stats.all(group) as Array<{ state: number; n: number }>) out[r.state] = r.n;
    return out;
  }

  close(): void {
    this.committer.close();
    this.db.close();
  }
}
