/**
 * The accounts of this Koder ID: add, list, find, check a password.
 * Names are 1–64 chars of [A-Za-z0-9._-] (they appear in share requests).
 */
import { randomUUID } from 'node:crypto';
import type { Database } from './db/database.ts';
import type { Clock } from './clock.ts';
import { ApiError, BadRequestError } from './errors.ts';
import { burnVerify, hashPassword, verifyPassword } from './passwords.ts';

export interface User {
  id: string;
  name: string;
  created_at: number;
  /** Set while an erasure is pending (ms since epoch). */
  erase_after: number | null;
}

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

export function validateUserName(name: string): void {
  if (!NAME.test(name)) throw new BadRequestError('invalid_user_name', 'user name must be 1-64 characters of A-Z a-z 0-9 . _ -');
}

export async function addUser(db: Database, clock: Clock, name: string, password: string): Promise<User> {
  validateUserName(name);
  if (password.length < 8) throw new BadRequestError('weak_password', 'password must have at least 8 characters');
  const exists = () => new ApiError('user_exists', `user '${name}' already exists`);
  if (await findUserByName(db, name)) throw exists();
  const hash = await hashPassword(password);
  const user: User = { id: randomUUID(), name, created_at: clock.now(), erase_after: null };
  // another process may have added the same name meanwhile: the unique name decides
  const added = await db.run('INSERT INTO users (id, name, password_hash, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING', [user.id, name, hash, user.created_at]);
  if (!added) throw exists();
  return user;
}

const COLUMNS = 'id, name, created_at, erase_after';

export async function listUsers(db: Database): Promise<User[]> {
  const users = await db.all<User>(`SELECT ${COLUMNS} FROM users`);
  return users.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function findUser(db: Database, id: string): Promise<User | undefined> {
  return db.get<User>(`SELECT ${COLUMNS} FROM users WHERE id = ?`, [id]);
}

export async function findUserByName(db: Database, name: string): Promise<User | undefined> {
  if (!NAME.test(name)) return undefined; // no such name can exist
  return db.get<User>(`SELECT ${COLUMNS} FROM users WHERE name = ?`, [name]);
}

/** The user, if name and password match; same cost whether or not the name exists. */
export async function checkPassword(db: Database, name: string, password: string): Promise<User | undefined> {
  const row = NAME.test(name) ? await db.get<{ id: string; password_hash: string }>('SELECT id, password_hash FROM users WHERE name = ?', [name]) : undefined;
  if (!row) return (await burnVerify(password)) || undefined;
  return (await verifyPassword(row.password_hash, password)) ? findUser(db, row.id) : undefined;
}
