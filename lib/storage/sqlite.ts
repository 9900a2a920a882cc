import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';

export type SqliteDatabase = Database.Database;

/**
 * Opens an SQLite file for durable stores: WAL journal with synchronous=FULL, so a commit that
 * returned is on disk (the WAL is fsynced at every commit) and survives a process kill or power
 * loss; a busy timeout so that several processes sharing the file wait instead of failing.
 */
export function openDurableSqlite(file: string, busyTimeoutMs = 10000): SqliteDatabase {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file, { timeout: busyTimeoutMs });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  return db;
}
