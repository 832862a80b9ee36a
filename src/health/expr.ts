/**
 * `hcexpr`: the condition a health-check response must meet (mod_proxy_hcheck's ProxyHCExpr).
 *
 * Apache evaluates an ap_expr there; stickyd takes the subset of ap_expr that health checks use,
 * with the same syntax, so an Apache `ProxyHCExpr ok234 {%{REQUEST_STATUS} =~ /^[234]/}` carries
 * over as `hcexpr: "%{REQUEST_STATUS} =~ /^[234]/"`. The text is parsed once (at config load, so a
 * typo is a config error) into a tree that is interpreted; nothing is ever eval'd.
 *
 *   expr       := or
 *   or         := and ( "||" and )*
 *   and        := not ( "&&" not )*
 *   not        := "!" not | "(" expr ")" | "true" | "false" | comparison
 *   comparison := word op word | word "=~" regex | word "!~" regex | word "-in" "{" word ("," word)* "}"
 *   op         := "==" | "=" | "!=" | "<" | "<=" | ">" | ">="          string comparison, as ap_expr
 *               | "-eq" | "-ne" | "-lt" | "-le" | "-gt" | "-ge"        integer comparison
 *   word       := 'text' | "text" | digits | %{REQUEST_STATUS} | %{HC_BODY} | hc('body') | resp('Header-Name')
 *   regex      := /pattern/ | m#pattern#  (any punctuation as delimiter), optional flag i
 *
 * Variables: `%{REQUEST_STATUS}` (the response status), `%{HC_BODY}` and `hc('body')` (the
 * response body, first 64 KiB, GET only), `resp('Name')` (a response header, "" when absent).
 * Regular expressions are JavaScript's (PCRE's common syntax: classes, anchors, alternation,
 * quantifiers).
 */

/** What an expression is evaluated against: one health-check response. */
export interface HcResponse {
  status: number;
  /** The body (GET), "" for HEAD/OPTIONS. */
  body: string;
  /** A response header by lower-case name. */
  header(name: string): string | undefined;
}

export class HcExprError extends Error {
  override name = 'HcExprError';
}

type Word =
  | { kind: 'text'; value: string }
  | { kind: 'status' }
  | { kind: 'body' }
  | { kind: 'header'; name: string };

type Node =
  | { kind: 'const'; value: boolean }
  | { kind: 'not'; arg: Node }
  | { kind: 'and' | 'or'; left: Node; right: Node }
  | { kind: 'compare'; op: CompareOp; left: Word; right: Word }
  | { kind: 'match'; negate: boolean; left: Word; regex: RegExp }
  | { kind: 'in'; left: Word; list: Word[] };

type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | '-eq' | '-ne' | '-lt' | '-le' | '-gt' | '-ge';

type Token =
  | { t: 'op'; v: string; at: number }
  | { t: 'word'; v: Word; at: number }
  | { t: 'regex'; v: RegExp; at: number }
  | { t: 'end'; at: number };

const COMPARE_OPS = new Set(['==', '=', '!=', '<', '<=', '>', '>=', '-eq', '-ne', '-lt', '-le', '-gt', '-ge']);
/** Longest first, so that "<=" is not read as "<" "=". */
const SYMBOLS = ['&&', '||', '==', '!=', '<=', '>=', '=~', '!~', '!', '(', ')', '{', '}', ',', '<', '>', '='];

function at(text: string, pos: number): string {
  return `at column ${pos + 1} of "${text}"`;
}

/** Splits the text into tokens; a regex is recognised only right after =~ or !~. */
function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const fail = (msg: string, pos = i): never => {
    throw new HcExprError(`${msg} ${at(text, pos)}`);
  };
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const start = i;
    const prev = out.at(-1);
    if (prev?.t === 'op' && (prev.v === '=~' || prev.v === '!~')) {
      // A regex literal: /.../ or m<delim>...<delim>, then optional flags.
      let delim: string;
      if (ch === '/') {
        delim = '/';
        i++;
      } else if (ch === 'm' && i + 1 < text.length && /[^\sA-Za-z0-9]/.test(text[i + 1]!)) {
        delim = text[i + 1]!;
        i += 2;
      } else {
        return fail(`expected a regular expression such as /^[23]/ after ${prev.v}`);
      }
      let source = '';
      while (i < text.length && text[i] !== delim) {
        if (text[i] === '\\' && text[i + 1] === delim) {
          source += delim;
          i += 2;
          continue;
        }
        source += text[i];
        i++;
      }
      if (i >= text.length) fail(`unterminated regular expression (no closing ${delim})`, start);
      i++;
      let flags = '';
      while (i < text.length && /[A-Za-z]/.test(text[i]!)) flags += text[i++];
      if (flags !== '' && flags !== 'i') fail(`unknown regular expression flag "${flags}" (only i is supported)`, i - flags.length);
      let regex: RegExp;
      try {
        regex = new RegExp(source, flags);
      } catch (e) {
        return fail(`invalid regular expression /${source}/: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`, start);
      }
      out.push({ t: 'regex', v: regex, at: start });
      continue;
    }
    if (ch === "'" || ch === '"') {
      i++;
      let value = '';
      while (i < text.length && text[i] !== ch) {
        if (text[i] === '\\' && i + 1 < text.length) {
          value += text[i + 1];
          i += 2;
          continue;
        }
        value += text[i++];
      }
      if (i >= text.length) fail(`unterminated string (no closing ${ch})`, start);
      i++;
      out.push({ t: 'word', v: { kind: 'text', value }, at: start });
      continue;
    }
    if (ch === '%' && text[i + 1] === '{') {
      const end = text.indexOf('}', i);
      if (end < 0) fail('unterminated variable (no closing })');
      const name = text.slice(i + 2, end).trim().toUpperCase();
      i = end + 1;
      if (name === 'REQUEST_STATUS') out.push({ t: 'word', v: { kind: 'status' }, at: start });
      else if (name === 'HC_BODY') out.push({ t: 'word', v: { kind: 'body' }, at: start });
      else fail(`unknown variable %{${text.slice(start + 2, end)}} (known: %{REQUEST_STATUS}, %{HC_BODY})`, start);
      continue;
    }
    if (/\d/.test(ch)) {
      while (i < text.length && /\d/.test(text[i]!)) i++;
      out.push({ t: 'word', v: { kind: 'text', value: text.slice(start, i) }, at: start });
      continue;
    }
    if (ch === '-' && /[a-z]/i.test(text[i + 1] ?? '')) {
      i++;
      while (i < text.length && /[a-z]/i.test(text[i]!)) i++;
      const op = text.slice(start, i).toLowerCase();
      if (!COMPARE_OPS.has(op) && op !== '-in') fail(`unknown operator "${op}" (known: -eq -ne -lt -le -gt -ge -in)`, start);
      out.push({ t: 'op', v: op, at: start });
      continue;
    }
    if (/[A-Za-z_]/.test(ch)) {
      while (i < text.length && /[A-Za-z0-9_]/.test(text[i]!)) i++;
      const name = text.slice(start, i);
      const lower = name.toLowerCase();
      if (lower === 'true' || lower === 'false') {
        out.push({ t: 'op', v: lower, at: start });
        continue;
      }
      // A function call with one string argument: hc('body') or resp('Header').
      while (i < text.length && /\s/.test(text[i]!)) i++;
      if (text[i] !== '(') fail(`unexpected "${name}" (strings need quotes: '${name}')`, start);
      i++;
      while (i < text.length && /\s/.test(text[i]!)) i++;
      const q = text[i];
      if (q !== "'" && q !== '"') fail(`${name}() takes one quoted argument, e.g. ${name}('body')`);
      const close = text.indexOf(q!, i + 1);
      if (close < 0) fail('unterminated string', i);
      const arg = text.slice(i + 1, close);
      i = close + 1;
      while (i < text.length && /\s/.test(text[i]!)) i++;
      if (text[i] !== ')') fail(`expected ")" after the argument of ${name}()`);
      i++;
      if (lower === 'hc') {
        if (arg.toLowerCase() !== 'body') fail(`hc() knows only 'body' (got '${arg}')`, start);
        out.push({ t: 'word', v: { kind: 'body' }, at: start });
      } else if (lower === 'resp') {
        if (arg === '') fail("resp() needs a header name, e.g. resp('Content-Type')", start);
        out.push({ t: 'word', v: { kind: 'header', name: arg.toLowerCase() }, at: start });
      } else {
        fail(`unknown function ${name}() (known: hc('body'), resp('Header-Name'))`, start);
      }
      continue;
    }
    const sym = SYMBOLS.find((s) => text.startsWith(s, i));
    if (sym === undefined) fail(`unexpected "${ch}"`);
    i += sym!.length;
    out.push({ t: 'op', v: sym!, at: start });
  }
  out.push({ t: 'end', at: text.length });
  return out;
}

class Parser {
  private pos = 0;

  constructor(private readonly text: string, private readonly tokens: Token[]) {}

  parse(): Node {
    const node = this.or();
    const next = this.peek();
    if (next.t !== 'end') this.fail(next, 'expected && or || or the end of the expression');
    return node;
  }

  private peek(): Token {
    return this.tokens[this.pos]!;
  }

  private next(): Token {
    return this.tokens[this.pos++]!;
  }

  private isOp(v: string): boolean {
    const t = this.peek();
    return t.t === 'op' && t.v === v;
  }

  private fail(t: Token, msg: string): never {
    const found = t.t === 'end' ? 'the end' : t.t === 'op' ? `"${t.v}"` : t.t === 'regex' ? 'a regular expression' : 'a value';
    throw new HcExprError(`${msg}, found ${found} ${at(this.text, t.at)}`);
  }

  private or(): Node {
    let left = this.and();
    while (this.isOp('||')) {
      this.next();
      left = { kind: 'or', left, right: this.and() };
    }
    return left;
  }

  private and(): Node {
    let left = this.not();
    while (this.isOp('&&')) {
      this.next();
      left = { kind: 'and', left, right: this.not() };
    }
    return left;
  }

  private not(): Node {
    const t = this.peek();
    if (t.t === 'op') {
      if (t.v === '!') {
        this.next();
        return { kind: 'not', arg: this.not() };
      }
      if (t.v === '(') {
        this.next();
        const inner = this.or();
        if (!this.isOp(')')) this.fail(this.peek(), 'expected ")"');
        this.next();
        return inner;
      }
      if (t.v === 'true' || t.v === 'false') {
        this.next();
        return { kind: 'const', value: t.v === 'true' };
      }
    }
    return this.comparison();
  }

  private word(what: string): Word {
    const t = this.next();
    if (t.t !== 'word') this.fail(t, `expected ${what}`);
    return t.v;
  }

  private comparison(): Node {
    const left = this.word("a value such as %{REQUEST_STATUS}, hc('body') or 'text'");
    const t = this.next();
    if (t.t !== 'op') this.fail(t, 'expected an operator such as ==, =~ or -in');
    if (t.v === '=~' || t.v === '!~') {
      const r = this.next();
      if (r.t !== 'regex') this.fail(r, 'expected a regular expression');
      return { kind: 'match', negate: t.v === '!~', left, regex: r.v };
    }
    if (t.v === '-in') {
      if (!this.isOp('{')) this.fail(this.peek(), "expected a list such as {'200', '204'}");
      this.next();
      const list = [this.word('a list element')];
      while (this.isOp(',')) {
        this.next();
        list.push(this.word('a list element'));
      }
      if (!this.isOp('}')) this.fail(this.peek(), 'expected "," or "}"');
      this.next();
      return { kind: 'in', left, list };
    }
    if (!COMPARE_OPS.has(t.v)) this.fail(t, 'expected an operator such as ==, =~ or -in');
    const op = (t.v === '=' ? '==' : t.v) as CompareOp;
    return { kind: 'compare', op, left, right: this.word('a value to compare with') };
  }
}

/** A parsed `hcexpr`, ready to evaluate. */
export class HcExpr {
  private constructor(readonly text: string, private readonly root: Node) {}

  /** Parses the text; throws HcExprError with the column of the problem. */
  static parse(text: string): HcExpr {
    if (text.trim() === '') throw new HcExprError('the expression is empty');
    return new HcExpr(text, new Parser(text, tokenize(text)).parse());
  }

  /** Whether the response meets the condition. */
  test(response: HcResponse): boolean {
    return evaluate(this.root, response);
  }

  /** The body is only needed (and only read) when the expression mentions it. */
  get needsBody(): boolean {
    return usesBody(this.root);
  }
}

/** The config loader's check: null when the text parses, else the problem. */
export function hcExprProblem(text: string): string | null {
  try {
    HcExpr.parse(text);
    return null;
  } catch (e) {
    if (e instanceof HcExprError) return e.message;
    throw e;
  }
}

function value(w: Word, r: HcResponse): string {
  switch (w.kind) {
    case 'text':
      return w.value;
    case 'status':
      return String(r.status);
    case 'body':
      return r.body;
    case 'header':
      return r.header(w.name) ?? '';
  }
}

/** ap_expr's integer comparison: the strings are read as integers (non-numbers compare as 0). */
function integer(s: string): number {
  const n = Number.parseInt(s.trim(), 10);
  return Number.isNaN(n) ? 0 : n;
}

function evaluate(n: Node, r: HcResponse): boolean {
  switch (n.kind) {
    case 'const':
      return n.value;
    case 'not':
      return !evaluate(n.arg, r);
    case 'and':
      return evaluate(n.left, r) && evaluate(n.right, r);
    case 'or':
      return evaluate(n.left, r) || evaluate(n.right, r);
    case 'match':
      return n.regex.test(value(n.left, r)) !== n.negate;
    case 'in': {
      const v = value(n.left, r);
      return n.list.some((w) => value(w, r) === v);
    }
    case 'compare': {
      const a = value(n.left, r);
      const b = value(n.right, r);
      switch (n.op) {
        case '==':
          return a === b;
        case '!=':
          return a !== b;
        case '<':
          return a < b;
        case '<=':
          return a <= b;
        case '>':
          return a > b;
        case '>=':
          return a >= b;
        case '-eq':
          return integer(a) === integer(b);
        case '-ne':
          return integer(a) !== integer(b);
        case '-lt':
          return integer(a) < integer(b);
        case '-le':
          return integer(a) <= integer(b);
        case '-gt':
          return integer(a) > integer(b);
        case '-ge':
          return integer(a) >= integer(b);
      }
    }
  }
}

function usesBody(n: Node): boolean {
  switch (n.kind) {
    case 'const':
      return false;
    case 'not':
      return usesBody(n.arg);
    case 'and':
    case 'or':
      return usesBody(n.left) || usesBody(n.right);
    case 'match':
      return n.left.kind === 'body';
    case 'in':
      return [n.left, ...n.list].some((w) => w.kind === 'body');
    case 'compare':
      return n.left.kind === 'body' || n.right.kind === 'body';
  }
}
