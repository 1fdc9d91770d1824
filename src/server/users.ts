/**
 * The accounts of this Koder ID: add, list, find, check a password.
 * Names are 1–64 chars of [A-Za-z0-9._-] (they appear in share requests).
 */
import { randomUUID } from 'node:crypto';
import type { Db } from './db/open.ts';
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

export async function addUser(db: Db, clock: Clock, name: string, password: string): Promise<User> {
  validateUserName(name);
  if (password.length < 8) throw new BadRequestError('weak_password', 'password must have at least 8 characters');
  if (findUserByName(db, name)) throw new ApiError(409, 'user_exists', `user '${name}' already exists`);
  const hash = await hashPassword(password);
  const user: User = { id: randomUUID(), name, created_at: clock.now(), erase_after: null };
  db.prepare('INSERT INTO users (id, name, password_hash, created_at) VALUES (?, ?, ?, ?)').run(user.id, name, hash, user.created_at);
  return user;
}

export function listUsers(db: Db): User[] {
  return db.prepare('SELECT id, name, created_at, erase_after FROM users ORDER BY name').all() as User[];
}

export function findUser(db: Db, id: string): User | undefined {
  return db.prepare('SELECT id, name, created_at, erase_after FROM users WHERE id = ?').get(id) as User | undefined;
}

export function findUserByName(db: Db, name: string): User | undefined {
  return db.prepare('SELECT id, name, created_at, erase_after FROM users WHERE name = ?').get(name) as User | undefined;
}

/** The user, if name and password match; same cost whether or not the name exists. */
export async function checkPassword(db: Db, name: string, password: string): Promise<User | undefined> {
  const row = db.prepare('SELECT id, password_hash FROM users WHERE name = ?').get(name) as
    | { id: string; password_hash: string }
    | undefined;
  if (!row) return (await burnVerify(password)) || undefined;
  return (await verifyPassword(row.password_hash, password)) ? findUser(db, row.id) : undefined;
}
