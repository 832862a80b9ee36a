/**
 * Mistakes on the command line (an unknown option or command, a missing argument, a value of the
 * wrong kind): the usage of the command that was meant, then one line saying what is wrong, on
 * stderr, exit code 1 — never a stack trace. yargs finds the mistake and calls the `.fail()`
 * handler of src/cli.ts, which calls usageFailure; its terse messages are made specific here
 * ("Not enough non-option arguments: got 1, need at least 2" → "missing <member>").
 */
import { didYouMean } from '../config/suggest.js';

/** A command-line mistake; `message` is what to print: the usage, a blank line, the reason. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** What yargs hands to a `.fail()` handler as its third argument (its usage printer). */
export interface UsagePrinter {
  help(): string;
}

/** The command a usage text is about: the words of its first line before the arguments. */
export function commandOf(help: string): string {
  const words: string[] = [];
  for (const w of (help.split('\n')[0] ?? '').trim().split(/\s+/)) {
    if (/^[<[-]/.test(w)) break;
    words.push(w);
  }
  return words.join(' ') || 'stickyd';
}

/** The commands a usage text lists (its "Commands:" section): the last word of each command path. */
function listedCommands(help: string): string[] {
  const section = help.split(/^Commands:$/m)[1]?.split(/^\S/m)[0] ?? '';
  return [...section.matchAll(/^ {2}stickyd((?: [a-z][\w-]*)+)/gm)].map((m) => m[1]!.trim().split(' ').pop()!);
}

/** The positional arguments of `$<name>` in a usage line: `<member>` and `[balancer]` without brackets, required ones only. */
function requiredPositionals(help: string): string[] {
  return [...(help.split('\n')[0] ?? '').matchAll(/<([^>]+)>/g)].map((m) => m[1]!);
}

const dashes = (name: string): string => (name.length === 1 ? `-${name}` : `--${name}`);

/** yargs' message → the reason line, knowing the words the user typed. */
export function reasonFor(msg: string, help: string, argv: readonly string[]): string {
  let m = /^Unknown arguments?: (.*)$/.exec(msg);
  if (m) {
    // yargs names unknown options and unexpected words alike, without dashes: look at what was typed.
    const words = argv.filter((a) => !a.startsWith('-'));
    return m[1]!.split(', ').map((name) => {
      const option = argv.find((a) => a === dashes(name) || a.startsWith(`--${name}=`) || a === `--${name}`);
      if (option !== undefined) return `unknown option ${dashes(name)}`;
      const commands = listedCommands(help);
      const isCommandWord = words[0] === name || (words[0] === 'ctl' && words[1] === name);
      if (commands.length > 0 && isCommandWord) {
        const guess = didYouMean(name, commands);
        return `unknown ${words[0] === 'ctl' && words[1] === name ? 'action' : 'command'} "${name}"${guess ? ` — did you mean "${guess}"?` : ''}`;
      }
      return `unexpected argument "${name}"`;
    }).join('; ');
  }
  m = /^Not enough non-option arguments: got (\d+), need at least (\d+)$/.exec(msg);
  if (m) {
    const missing = requiredPositionals(help).slice(Number(m[1]));
    return missing.length > 0 ? `missing ${missing.map((p) => `<${p}>`).join(' ')}` : `missing arguments (${Number(m[2]) - Number(m[1])} more)`;
  }
  if (/^Too many non-option arguments/.test(msg)) return 'too many arguments';
  m = /^Not enough arguments following: (.*)$/.exec(msg);
  if (m) return `option ${dashes(m[1]!)} needs a value`;
  m = /^Missing required arguments?: (.*)$/.exec(msg);
  if (m) return `missing ${m[1]!.split(', ').map((o) => `option ${dashes(o)}`).join(', ')}`;
  return msg;
}

/** The `.fail()` handler: a command's own error goes on as it is; a usage mistake becomes a UsageError. */
export function usageFailure(msg: string | null, err: Error | undefined, usage: UsagePrinter, argv: readonly string[]): never {
  if (!msg) throw err ?? new Error('unknown failure');
  const help = usage.help();
  const reason = reasonFor(msg, help, argv);
  // An unknown first word is no mistake of the default command (run) the usage is about.
  const who = reason.startsWith('unknown command') ? 'stickyd' : commandOf(help);
  throw new UsageError(`${help}\n\n${who}: ${reason}`);
}

/** A TCP port given on the command line: `--name` must be a whole number 1..65535. */
export function parsePort(name: string, value: unknown): number {
  if (Array.isArray(value)) throw new Error(`--${name} is given ${value.length} times; give it once`);
  const text = String(value);
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 65535) throw new Error(`--${name} must be a port number from 1 to 65535 (got "${text}")`);
  return Number(text);
}
