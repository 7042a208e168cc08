/**
 * Git LFS pointer files: what a `git clone` of MedThink (and other LFS-backed
 * dataset repos) leaves on disk without `git lfs pull` — a small text file
 * `version https://git-lfs.github.com/spec/v1\noid sha256:…\nsize N\n` in
 * place of the JSON or image. Loaders report such a file by name as bad input
 * (exit 2) rather than as invalid JSON, an unreadable image or an unmatched row.
 */
import { InputError } from '../errors.js';

const POINTER_PREFIX = 'version https://git-lfs.github.com/spec/v1';
const PREFIX_BYTES = new TextEncoder().encode(POINTER_PREFIX);

/** True when the content (text or bytes) is a Git LFS pointer. */
export function isGitLfsPointer(content: string | Uint8Array): boolean {
  if (typeof content === 'string') return content.replace(/^\uFEFF/, '').startsWith(POINTER_PREFIX);
  if (content.length < PREFIX_BYTES.length) return false;
  for (let i = 0; i < PREFIX_BYTES.length; i++) if (content[i] !== PREFIX_BYTES[i]) return false;
  return true;
}

/** A file that is a Git LFS pointer instead of its content. An InputError (exit 2) whose `where` is the file. */
export class LfsPointerError extends InputError {
  override readonly name: string = 'LfsPointerError';
  constructor(file: string) {
    super(file, 'is a Git LFS pointer; run git lfs pull');
    this.message = `${file} is a Git LFS pointer; run git lfs pull`;
  }
}

/** Throws an LfsPointerError naming `file` when the content is a Git LFS pointer. */
export function assertNotLfsPointer(content: string | Uint8Array, file: string): void {
  if (isGitLfsPointer(content)) throw new LfsPointerError(file);
}
