// The ink view `login` shows on a terminal: the current step with a spinner, the URL to open,
// and a summary at the end. Never imported in proxy mode.
import { useEffect, useState } from 'react';
import { Box, Text, render, useStdout } from 'ink';
import type { SignInStep } from '../auth/sign-in.js';
import { printable } from '../log.js';
import { type LoginReporter, type LoginSummary, deviceCodeLines, stepText, summaryLines } from './login-reporter.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

function Spinner() {
  const [i, setI] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setI((n) => (n + 1) % FRAMES.length), 80);
    return () => clearInterval(t);
  }, []);
  return <Text color="cyan">{FRAMES[i]}</Text>;
}

/** Written above the live view, unwrapped, so the URL can be copied whole from any terminal; once. */
function PrintOnce({ text }: { text: string }) {
  const { write } = useStdout();
  useEffect(() => write(`${text}\n`), [text, write]);
  return null;
}

/** "4:59 left", counting down to the sign-in's deadline. */
function TimeLeft({ deadline }: { deadline: number }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  const s = Math.max(0, Math.round((deadline - now) / 1000));
  return <Text dimColor>{`${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')} left`}</Text>;
}

interface ViewState {
  step?: SignInStep;
  browserOpened: boolean;
  /** The lines with the sign-in URL, fixed when it is first shown (printed once). */
  banner?: string;
  deadline?: number;
  summary?: LoginSummary;
  failed?: boolean;
}

function LoginView({ state }: { state: ViewState }) {
  if (state.summary) {
    const [head, ...rest] = summaryLines(state.summary).map(printable);
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
        <Text>{printable(liveText(state.step, state.browserOpened))}</Text>
        {(state.step.kind === 'waiting' || state.step.kind === 'device-code') && state.deadline ? <TimeLeft deadline={state.deadline} /> : null}
      </Box>
      {state.banner ? <PrintOnce text={printable(state.banner)} /> : null}
    </Box>
  );
}

/** The line beside the spinner: what is being waited for. */
function liveText(step: SignInStep, browserOpened: boolean): string {
  if (step.kind === 'waiting') return 'Waiting for you to finish signing in in the browser (Ctrl-C to cancel)…';
  if (step.kind === 'device-code') return `Waiting for you to approve the sign-in with the code ${step.userCode} (Ctrl-C to cancel)…`;
  return stepText(step, browserOpened);
}

/** The live view on `stream` (the terminal's stderr). */
export function createInkReporter(stream: NodeJS.WriteStream, timeoutMs: number): LoginReporter {
  let state: ViewState = { browserOpened: false };
  let closed = false;
  // Ctrl-C is the login command's to handle (it prints a clean "cancelled" line and exits).
  // patchConsole: log lines go through console.error, which ink writes above the live view.
  const app = render(<LoginView state={state} />, { stdout: stream, patchConsole: true, exitOnCtrlC: false });
  const update = (patch: Partial<ViewState>) => {
    state = { ...state, ...patch };
    app.rerender(<LoginView state={state} />);
  };
  return {
    log: (line) => console.error(printable(line.replace(/\n$/, ''))),
    step: (step, browserOpened) => {
      if (step.kind === 'waiting' && !state.banner) {
        update({ step, browserOpened, banner: `${stepText(step, browserOpened)}\n  ${step.authorizationUrl}`, deadline: Date.now() + timeoutMs });
      } else if (step.kind === 'device-code' && !state.banner) {
        // The address and the code above the live view, once; the live line's countdown replaces the "waiting" line.
        update({ step, browserOpened, banner: deviceCodeLines(step, browserOpened).slice(0, -1).join('\n'), deadline: step.deadline });
      } else {
        update({ step, browserOpened });
      }
    },
    done: (summary) => update({ summary }),
    fail: () => update({ failed: true }),
    close: async () => {
      if (closed) return;
      closed = true;
      app.unmount();
      await app.waitUntilExit().catch(() => {});
    },
  };
}
