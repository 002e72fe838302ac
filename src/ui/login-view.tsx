// The ink view `login` shows on a terminal: the current step with a spinner, the URL to open,
// and a summary at the end. Never imported in proxy mode.
import { useEffect, useState } from 'react';
import { Box, Text, render, useStdout } from 'ink';
import type { SignInStep } from '../auth/sign-in.js';
import { type LoginReporter, type LoginSummary, stepText, summaryLines } from './login-reporter.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

function Spinner() {
  const [i, setI] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setI((n) => (n + 1) % FRAMES.length), 80);
    return () => clearInterval(t);
  }, []);
  return <Text color="cyan">{FRAMES[i]}</Text>;
}

/** Written above the live view, unwrapped, so the URL can be copied whole from any terminal. */
function PrintOnce({ text }: { text: string }) {
  const { write } = useStdout();
  useEffect(() => write(`${text}\n`), [text, write]);
  return null;
}

interface ViewState {
  step?: SignInStep;
  browserOpened: boolean;
  url?: string;
  summary?: LoginSummary;
  failed?: boolean;
}

function LoginView({ state }: { state: ViewState }) {
  if (state.summary) {
    const [head, ...rest] = summaryLines(state.summary);
    return (
      <Box flexDirection="column">
        <Text color="green">{head}</Text>
        {rest.map((l) => <Text key={l} dimColor>{l}</Text>)}
      </Box>
    );
  }
  if (!state.step || state.failed) return null;
  return (
    <Box flexDirection="column">
      <Box gap={1}>
        <Spinner />
        <Text>{state.step.kind === 'waiting' ? 'Waiting for you to finish signing in in the browser (Ctrl-C to cancel)…' : stepText(state.step, state.browserOpened)}</Text>
      </Box>
      {state.url ? <PrintOnce text={`${stepText(state.step, state.browserOpened)}\n  ${state.url}`} /> : null}
    </Box>
  );
}

export function createInkReporter(_url: string): LoginReporter {
  let state: ViewState = { browserOpened: false };
  const app = render(<LoginView state={state} />, { stdout: process.stderr, patchConsole: false, exitOnCtrlC: true });
  const update = (patch: Partial<ViewState>) => {
    state = { ...state, ...patch };
    app.rerender(<LoginView state={state} />);
  };
  return {
    step: (step, browserOpened) => update({ step, browserOpened, url: step.kind === 'waiting' ? step.authorizationUrl : state.url }),
    done: (summary) => update({ summary }),
    fail: () => update({ failed: true }),
    close: async () => {
      app.unmount();
      await app.waitUntilExit().catch(() => {});
    },
  };
}
