import { open, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Writes all of `text` at the handle's position (appending for a handle opened 'a'). */
export async function writeAll(handle: FileHandle, text: string): Promise<void> {
  const bytes = Buffer.from(text, 'utf8');
  let at = 0;
  while (at < bytes.length) at += (await handle.write(bytes, at, bytes.length - at)).bytesWritten;
}

export interface ReplaceFileOptions {
  file: string;
  text: string;
  /** Mode of the new file (before the umask). */
  mode: number;
}

/**
 * Replaces `file` by `text` so that a crash at any point leaves either the
 * old file or the new one, whole: write `<file>.tmp`, fsync it, rename it
 * over `file`, fsync the directory (which makes the rename durable).
 */
export async function replaceFile({ file, text, mode }: ReplaceFileOptions): Promise<void> {
  const tmp = `${file}.tmp`;
  const out = await open(tmp, 'w', mode);
  try {
    await writeAll(out, text);
    await out.sync();
  } finally {
    await out.close();
  }
  await rename(tmp, file);
  const dir = await open(dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
