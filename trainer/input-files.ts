/** Checks on the user's input files that every trainer input shares. */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';

/**
 * Fails early, before a trainer does any work, when `file` cannot be read: with the caller's error type (so
 * the CLI reports it as an input error) and a message naming the file and what it was meant to be.
 */
export async function assertReadable(file: string, what: string, error: new (message: string) => Error): Promise<void> {
  try {
    await access(file, constants.R_OK);
  } catch {
    throw new error(`${file}: ${what} file not found or not readable`);
  }
}
