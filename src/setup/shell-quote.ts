// Command lines that setup prints for people to paste, quoted for the shell they will paste them
// into, and the characters a Windows entry must not carry (it runs through cmd.exe).

const POSIX_PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;
const WINDOWS_PLAIN = /^[A-Za-z0-9_@+=:,./\\-]+$/;

/** One word for sh, bash or zsh: as is when nothing in it is special, else in single quotes. */
export function posixWord(word: string): string {
  return POSIX_PLAIN.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * One word for cmd.exe and PowerShell alike: as is when plain, else in double quotes. Inside double
 * quotes cmd still expands %VAR% and PowerShell $var and `; `windowsSyntax` keeps those out of
 * every word setup prints on Windows.
 */
export function windowsWord(word: string): string {
  return WINDOWS_PLAIN.test(word) ? word : `"${word}"`;
}

export function commandLine(words: string[], platform: NodeJS.Platform): string {
  return words.map(platform === 'win32' ? windowsWord : posixWord).join(' ');
}

/**
 * The first character of `text` that cmd.exe would read as syntax in a `cmd /c npx …` entry (and
 * again when npx.cmd passes its arguments on with %*): & | < > ^ run or redirect commands, % and !
 * expand variables, " and ( ) change how the rest is split; $ and ` do the same in PowerShell, where
 * people paste the printed login line. Undefined when there is none.
 */
export function windowsSyntax(text: string): string | undefined {
  return /[&|<>^%!"()$`\s\x00-\x1f\x7f]/.exec(text)?.[0];
}
