// What editing one client config file comes to, whatever its format.
import type { ServerCommand } from './entry.js';

/** Each with `server`: the command line the entry runs afterwards. */
export type EditResult =
  | { kind: 'unchanged'; server: ServerCommand; notes: string[] }
  | {
      server: ServerCommand;
      /** `created`: the file did not exist or was empty; `added`: a new entry; `updated`: our entry had other values; `replaced`: another server's entry, replaced with --force. */
      kind: 'created' | 'added' | 'updated' | 'replaced';
      text: string;
      /** For people: what changed, one line each (`--url: … → …`), never a value that may be secret. */
      changes: string[];
      /** Keys of the existing entry that were left as they were (env, …). */
      kept: string[];
      /** The user's own flags in the entry's args, kept (names only). */
      keptFlags: string[];
      notes: string[];
    };

/**
 * The file cannot be edited safely: it does not parse, or the entry is in a shape `setup` does not
 * touch. `message` says what and where; `hint` what to do. Nothing has been written.
 */
export class ConfigProblem extends Error {
  readonly hint: string;
  constructor(message: string, hint: string) {
    super(message);
    this.name = 'ConfigProblem';
    this.hint = hint;
  }
}

/** One text edit: replace `[start, end)` with `text`. */
export interface TextEdit {
  start: number;
  end: number;
  text: string;
}

/** Applies non-overlapping edits (any order). */
export function applyEdits(source: string, edits: TextEdit[]): string {
  let out = source;
  for (const e of [...edits].sort((a, b) => b.start - a.start || b.end - a.end)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

/** The line ending a file uses: CRLF when its first line ends with one. */
export function detectEol(text: string): string {
  const nl = text.indexOf('\n');
  return nl > 0 && text[nl - 1] === '\r' ? '\r\n' : '\n';
}

/** The whitespace that starts the line holding `offset`. */
export function lineIndent(text: string, offset: number): string {
  const start = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(start))![0];
}

/** True when only spaces and tabs stand between the line's start and `offset`. */
export function firstOnLine(text: string, offset: number): boolean {
  const start = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*$/.test(text.slice(start, offset));
}
