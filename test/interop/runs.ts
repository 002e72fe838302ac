// What one conformance run is (a scenario, at a wire, for a proxy and a client) and what came of it:
// the vocabulary conformance.ts, report.ts and the test share.
import type { Revision } from './suite.js';

/** The desktop clients: SDK 1.32 (2025 era) and SDK v2 2.4 (2026-07-28 with fallback); see desktop-client.ts. */
export type ClientKind = '2025' | '2026';
export const CLIENT_KINDS: ClientKind[] = ['2025', '2026'];

export type Target = 'appwrite-mcp' | 'mcp-remote';
export const TARGETS: Target[] = ['appwrite-mcp', 'mcp-remote'];

export interface Column {
  target: Target;
  client: ClientKind;
}
export const columnName = (c: Column) => `${c.target} ${c.client}`;

/** One scenario, at the suite's default wire for it or at `wire` (--spec-version V --force). */
export interface ScenarioRun {
  scenario: string;
  wire?: Revision;
  /** The wire it runs at either way (what a requirement set's verdict looks at). */
  at: Revision;
}
export const runLabel = (r: ScenarioRun) => (r.wire ? `${r.scenario} @${r.wire}` : r.scenario);

export interface ScenarioResult extends Column, ScenarioRun {
  /** The suite's verdict (exit 0) and every check the plan requires succeeded. */
  pass: boolean;
  suiteExitCode: number | null;
  clientExitCode?: number;
  clientTimedOut: boolean;
  /** FAILURE and WARNING checks, as "id: description (errorMessage)". */
  problems: string[];
  /** Checks the plan requires that did not succeed, as "id: STATUS (errorMessage)". */
  missing: string[];
  succeeded: string[];
  skipped: string[];
  /** Other things seen in the client's log (a proxy that outlived its stdin). */
  notes: string[];
  /** One line saying why it failed (empty when it passed). */
  reason: string;
  durationMs: number;
  resultDir?: string;
  /** The process group of the run (checked for leftovers). */
  pgid?: number;
}
