/**
 * Apache httpd configuration files → a tree of directives and sections, with what httpd does
 * while *reading* (its EXEC_ON_READ directives) already done:
 *
 * - `Include` / `IncludeOptional` are replaced by the directives of the files they name
 *   (include.ts). Relative paths are taken relative to ServerRoot — the `ServerRoot` directive
 *   read so far, else the `serverRoot` option (httpd -d), else the main file's directory — and,
 *   when nothing is there, relative to the including file's directory. A file that includes
 *   itself, directly or through others, is an error naming the chain.
 * - `Define NAME [value]` / `UnDefine NAME` set the names `<IfDefine>` tests and the `${NAME}`
 *   values substituted in every later line (httpd's ap_resolve_env). A `${NAME}` that no Define
 *   sets is left as it is: httpd would take it from its environment, and stickyd's loader expands
 *   `${NAME}` from the environment too.
 * - Conditional sections are decided here and disappear from the tree: `<IfModule>`,
 *   `<IfDirective>` and `<IfSection>` hold (every module is assumed loaded, so `!` negates to
 *   false); `<IfDefine>` tests the defined names; `<IfFile>` tests the file system; `<IfVersion>`
 *   compares with 2.4.71, the version the spec was checked against. The contents of a false
 *   section are skipped unread, as httpd does.
 *
 * Syntax errors (unclosed or mismatched section, `<Section` without `>`, unterminated quote)
 * throw an ImportError naming FILE:LINE.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ImportError, type Diagnostic, type Origin } from './diagnostics.js';
import { existsUnder, expandInclude, IncludeError } from './include.js';
import { logicalLines, type LogicalLine } from './lines.js';
import { configWords, WordSyntaxError } from './words.js';

export interface ApacheDirective {
  kind: 'directive';
  /** As written (directive names are case-insensitive: compare lower-cased). */
  name: string;
  args: string[];
  origin: Origin;
}

export interface ApacheSection {
  kind: 'section';
  /** Without the angle bracket, as written: `VirtualHost`, `Proxy`, `Location`. */
  name: string;
  args: string[];
  origin: Origin;
  children: ApacheNode[];
}

export type ApacheNode = ApacheDirective | ApacheSection;

export interface ParseOptions {
  /** httpd's -d: ServerRoot until a `ServerRoot` directive says otherwise. Default: the main file's directory. */
  serverRoot?: string;
  /** httpd's -D: names that `<IfDefine>` finds defined. */
  defines?: string[];
  /** How a file name is shown in messages. Default: relative to the working directory when inside it. */
  show?: (absolutePath: string) => string;
}

export interface ParsedConfig {
  nodes: ApacheNode[];
  /** Notes about what reading decided (skipped `<IfDefine>` blocks, `<Macro>`...). */
  diagnostics: Diagnostic[];
  /** Every file read, as shown in messages, in reading order. */
  files: string[];
}

/** The httpd version `<IfVersion>` compares with: the reference peer of apache-semantics §0. */
export const ASSUMED_HTTPD_VERSION = [2, 4, 71] as const;

export function showRelativeToCwd(absolutePath: string): string {
  const rel = path.relative(process.cwd(), absolutePath);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : absolutePath;
}

/** Sections whose contents are decided while reading. */
const CONDITIONALS = new Set(['ifmodule', 'ifdefine', 'ifversion', 'iffile', 'ifdirective', 'ifsection']);

interface Frame {
  name: string;
  origin: Origin;
  /** Where the children go: the section's own list, or the parent's for a conditional that held. */
  children: ApacheNode[];
}

class Reader {
  private readonly defines = new Map<string, string>();
  private serverRoot: string | null;
  private readonly mainDir: string;
  private readonly show: (p: string) => string;
  /** Real paths of the files being read, outermost first, for cycle detection. */
  private readonly reading: string[] = [];
  readonly diagnostics: Diagnostic[] = [];
  readonly files: string[] = [];

  constructor(mainFile: string, options: ParseOptions) {
    this.mainDir = path.dirname(mainFile);
    this.serverRoot = options.serverRoot ? path.resolve(options.serverRoot) : null;
    this.show = options.show ?? showRelativeToCwd;
    for (const name of options.defines ?? []) this.defines.set(name, '');
  }

  readFile(file: string, includedFrom: Origin | null): ApacheNode[] {
    let real: string;
    let text: string;
    try {
      real = fs.realpathSync(file);
      text = fs.readFileSync(real, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
      throw new ImportError(includedFrom, `cannot read ${this.show(file)}: ${reason}`);
    }
    if (this.reading.includes(real)) {
      const chain = [...this.reading.slice(this.reading.indexOf(real)), real].map((f) => this.show(f)).join(' -> ');
      throw new ImportError(includedFrom, `Include cycle: ${chain}`);
    }
    this.reading.push(real);
    this.files.push(this.show(file));
    try {
      // httpd skips a UTF-8 byte order mark at the start of a file (ap_pcfg_openfile).
      return this.parseLines(logicalLines(text.replace(/^\uFEFF/, '')), this.show(file), file);
    } finally {
      this.reading.pop();
    }
  }

  private parseLines(lines: LogicalLine[], shown: string, file: string): ApacheNode[] {
    const top: ApacheNode[] = [];
    const stack: Frame[] = [];
    const target = (): ApacheNode[] => (stack.length > 0 ? (stack[stack.length - 1] as Frame).children : top);

    for (let i = 0; i < lines.length; i++) {
      const { line } = lines[i] as LogicalLine;
      const origin: Origin = { file: shown, line };
      const text = this.substitute((lines[i] as LogicalLine).text);

      if (text.startsWith('</')) {
        const m = /^<\/([^\s>]+)\s*>$/.exec(text);
        if (!m) throw new ImportError(origin, `malformed closing tag "${text}"`);
        const name = m[1] as string;
        const open = stack.pop();
        if (!open) throw new ImportError(origin, `</${name}> without matching <${name}> section`);
        if (open.name.toLowerCase() !== name.toLowerCase()) {
          throw new ImportError(origin, `expected </${open.name}> (for <${open.name}> at line ${open.origin.line}) but saw </${name}>`);
        }
        continue;
      }

      if (text.startsWith('<')) {
        const m = /^<([^\s>]+)(.*)$/s.exec(text) as RegExpExecArray;
        const name = m[1] as string;
        const rest = (m[2] as string).trimEnd();
        if (!rest.endsWith('>')) throw new ImportError(origin, `<${name} directive missing closing '>'`);
        const args = this.words(rest.slice(0, -1), origin, false);
        const lower = name.toLowerCase();
        if (CONDITIONALS.has(lower)) {
          if (this.condition(lower, name, args, origin)) {
            stack.push({ name, origin, children: target() });
          } else {
            i = this.skipSection(lines, i, name, origin);
          }
          continue;
        }
        if (lower === 'macro') {
          this.note(origin, `<${name}>`, 'mod_macro is not supported: the macro is not expanded; write its uses out');
          i = this.skipSection(lines, i, name, origin);
          continue;
        }
        const section: ApacheSection = { kind: 'section', name, args, origin, children: [] };
        target().push(section);
        stack.push({ name, origin, children: section.children });
        continue;
      }

      const m = /^(\S+)\s*(.*)$/s.exec(text) as RegExpExecArray;
      const name = m[1] as string;
      const lower = name.toLowerCase();
      const args = this.words(m[2] as string, origin, lower === 'proxyhcexpr');
      switch (lower) {
        case 'include':
        case 'includeoptional':
          for (const f of this.includeFiles(args, lower === 'includeoptional', origin, file)) {
            target().push(...this.readFile(f, origin));
          }
          break;
        case 'serverroot':
          if (args.length !== 1) throw new ImportError(origin, 'ServerRoot takes one argument, a directory');
          this.serverRoot = path.resolve(this.mainDir, args[0] as string);
          break;
        case 'define':
          if (args.length < 1 || args.length > 2) throw new ImportError(origin, 'Define takes one or two arguments: NAME [value]');
          this.defines.set(args[0] as string, args[1] ?? '');
          break;
        case 'undefine':
          if (args.length !== 1) throw new ImportError(origin, 'UnDefine takes one argument, a name');
          this.defines.delete(args[0] as string);
          break;
        default:
          target().push({ kind: 'directive', name, args, origin });
      }
    }
    const unclosed = stack.pop();
    if (unclosed) throw new ImportError(unclosed.origin, `<${unclosed.name}> was not closed (end of file reached)`);
    return top;
  }

  /** `${NAME}` → the Define'd value; unknown names stay as written (see the file comment). */
  private substitute(text: string): string {
    if (!text.includes('${')) return text;
    return text.replace(/\$\{([^}]*)\}/g, (whole, name: string) => this.defines.get(name) ?? whole);
  }

  private words(text: string, origin: Origin, braces: boolean): string[] {
    try {
      return configWords(text, { braces });
    } catch (err) {
      if (err instanceof WordSyntaxError) throw new ImportError(origin, err.message);
      throw err;
    }
  }

  private note(origin: Origin, directive: string, message: string): void {
    this.diagnostics.push({ ...origin, directive, message });
  }

  /** Index of the line that closes the section opened at `start`; nested sections are counted. */
  private skipSection(lines: LogicalLine[], start: number, name: string, origin: Origin): number {
    let depth = 1;
    for (let i = start + 1; i < lines.length; i++) {
      const text = (lines[i] as LogicalLine).text;
      if (text.startsWith('</')) {
        depth--;
        if (depth === 0) {
          const closing = /^<\/([^\s>]+)\s*>$/.exec(text)?.[1];
          if (closing?.toLowerCase() !== name.toLowerCase()) {
            throw new ImportError({ file: origin.file, line: (lines[i] as LogicalLine).line }, `expected </${name}> (for <${name}> at line ${origin.line}) but saw ${text}`);
          }
          return i;
        }
      } else if (text.startsWith('<')) {
        depth++;
      }
    }
    throw new ImportError(origin, `<${name}> was not closed (end of file reached)`);
  }

  private condition(lower: string, name: string, args: string[], origin: Origin): boolean {
    const directive = `<${name}>`;
    if (args.length === 0) throw new ImportError(origin, `${directive} needs an argument`);
    if (lower === 'ifversion') return this.versionHolds(args, origin, directive);
    const raw = args[0] as string;
    const negated = raw.startsWith('!');
    const subject = negated ? raw.slice(1) : raw;
    let holds: boolean;
    switch (lower) {
      case 'ifdefine':
        holds = this.defines.has(subject);
        if (holds === negated) {
          this.note(origin, directive, `${subject} is ${holds ? '' : 'not '}defined, so this block was skipped (pass -D ${subject} to choose otherwise)`);
        }
        break;
      case 'iffile': {
        const file = path.isAbsolute(subject) ? subject : path.join(this.serverRoot ?? this.mainDir, subject);
        holds = fs.existsSync(file);
        break;
      }
      default:
        // IfModule, IfDirective, IfSection: every module is assumed to be loaded.
        holds = true;
    }
    return holds !== negated;
  }

  /** `<IfVersion [[!]op] version>` against ASSUMED_HTTPD_VERSION; regular expressions are taken as holding. */
  private versionHolds(args: string[], origin: Origin, directive: string): boolean {
    let op = args.length > 1 ? (args[0] as string) : '=';
    const version = (args.length > 1 ? args[1] : args[0]) as string;
    const negated = op.startsWith('!');
    if (negated) op = op.slice(1);
    if (op === '~' || version.startsWith('/')) {
      this.note(origin, directive, `regular-expression version tests are not evaluated; assumed to hold`);
      return true;
    }
    const want = version.split('.').map(Number);
    if (want.some((n) => !Number.isInteger(n))) throw new ImportError(origin, `${directive}: "${version}" is not a version number`);
    let cmp = 0;
    for (let i = 0; i < want.length && cmp === 0; i++) cmp = Math.sign((ASSUMED_HTTPD_VERSION[i] ?? 0) - (want[i] as number));
    const results: Record<string, boolean> = { '=': cmp === 0, '==': cmp === 0, '>': cmp > 0, '>=': cmp >= 0, '<': cmp < 0, '<=': cmp <= 0 };
    const holds = results[op];
    if (holds === undefined) throw new ImportError(origin, `${directive}: unknown operator "${op}"`);
    return holds !== negated;
  }

  private includeFiles(args: string[], optional: boolean, origin: Origin, includingFile: string): string[] {
    const directive = optional ? 'IncludeOptional' : 'Include';
    if (args.length !== 1) throw new ImportError(origin, `${directive} takes one argument, a file, directory or wildcard path`);
    const arg = args[0] as string;
    let target: string;
    if (path.isAbsolute(arg)) {
      target = arg;
    } else {
      const bases = [this.serverRoot ?? this.mainDir, path.dirname(includingFile)];
      const base = bases.find((b) => existsUnder(b, arg)) ?? (bases[0] as string);
      target = path.join(base, arg);
    }
    try {
      return expandInclude(target, optional);
    } catch (err) {
      if (err instanceof IncludeError) throw new ImportError(origin, `${directive} ${arg}: ${err.message}`);
      throw err;
    }
  }
}

/** Read the main configuration file and everything it includes. Throws ImportError. */
export function parseApacheConfig(file: string, options: ParseOptions = {}): ParsedConfig {
  const absolute = path.resolve(file);
  const reader = new Reader(absolute, options);
  const nodes = reader.readFile(absolute, null);
  return { nodes, diagnostics: reader.diagnostics, files: reader.files };
}
