// The order the test files start in: the slowest first, so that the two workers never end with a
// long file running alone. vitest orders by the durations of its last run when it has them, but CI
// installs from scratch (no cache): vitest then starts the largest files first, which started the
// conformance file (~280 s under the whole suite) 41st of 54 and left it running alone at the end.
// Replaying the full run's file durations on 2 workers: 702 s in size order, 603 s slowest first.
// The list: the files over ~15 s in the full run of 2026-12-06 (Node 24, 2 cores), slowest first;
// every other file keeps vitest's own order after them.
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const SLOWEST = [
  'test/interop/conformance.test.ts',
  'test/e2e/proxy.test.ts',
  'test/auth/chaos.test.ts',
  'test/e2e/eras.test.ts',
  'test/hostile/hostile.test.ts',
  'test/e2e/package.test.ts',
  'test/e2e/transports.test.ts',
  'test/bench/bench.test.ts',
  'test/cloud.test.ts',
  'test/interop/everything.test.ts',
  'test/e2e/doctor.test.ts',
  'test/hostile/proxy-limits.test.ts',
];

export default class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => {
      const i = SLOWEST.findIndex((path) => f.moduleId.split('\\').join('/').endsWith(path));
      return i < 0 ? SLOWEST.length : i;
    };
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b)); // stable: the rest keep vitest's order
  }
}
