// Reading Apache configuration files (parser.ts, include.ts): sections, Include globs and their
// order, ServerRoot, cycles, conditionals, Define, and syntax errors with FILE:LINE. Real files
// in a fresh temp directory per test.
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ImportError } from '../../src/importer/diagnostics.js';
import { parseApacheConfig, type ApacheNode, type ParseOptions } from '../../src/importer/parser.js';
import { relativeTo, removeTrees, tree } from './tree.js';

afterEach(removeTrees);

/** The tree as compact text: `Name args` / `<Name args>[children]`, with the origin of each. */
function outline(nodes: ApacheNode[]): string[] {
  return nodes.flatMap((n) =>
    n.kind === 'directive'
      ? [`${n.origin.file}:${n.origin.line} ${[n.name, ...n.args].join(' ')}`]
      : [`${n.origin.file}:${n.origin.line} <${[n.name, ...n.args].join(' ')}>`, ...outline(n.children).map((l) => `  ${l}`)],
  );
}

function parse(dir: string, main = 'httpd.conf', options: ParseOptions = {}) {
  return parseApacheConfig(path.join(dir, main), { show: relativeTo(dir), ...options });
}

function parseError(dir: string, main = 'httpd.conf', options: ParseOptions = {}): ImportError {
  try {
    parse(dir, main, options);
  } catch (err) {
    if (err instanceof ImportError) return err;
    throw err;
  }
  throw new Error('expected an ImportError');
}

describe('sections and directives', () => {
  it('builds the tree with names as written and quoted arguments unquoted', () => {
    const dir = tree({
      'httpd.conf': ['Listen 80', '<virtualhost *:80>', '  <Proxy "balancer://c">', '    BalancerMember http://a route=1', '  </proxy>', '</VirtualHost>'].join('\n'),
    });
    expect(outline(parse(dir).nodes)).toEqual([
      'httpd.conf:1 Listen 80',
      'httpd.conf:2 <virtualhost *:80>',
      '  httpd.conf:3 <Proxy balancer://c>',
      '    httpd.conf:4 BalancerMember http://a route=1',
    ]);
  });

  it('skips a UTF-8 byte order mark', () => {
    expect(outline(parse(tree({ 'httpd.conf': '\uFEFFListen 80\n' })).nodes)).toEqual(['httpd.conf:1 Listen 80']);
  });
});

describe('Include and IncludeOptional', () => {
  it('reads glob matches in byte order, skipping dot files, and inlines them where the Include is', () => {
    const dir = tree({
      'httpd.conf': 'A 1\n<VirtualHost *:80>\nInclude conf.d/*.conf\n</VirtualHost>\nB 2\n',
      'conf.d/b.conf': 'FromB\n',
      'conf.d/B.conf': 'FromUpperB\n',
      'conf.d/a.conf': 'FromA\n',
      'conf.d/.hidden.conf': 'Hidden\n',
      'conf.d/c.conf.bak': 'Backup\n',
    });
    const parsed = parse(dir);
    expect(outline(parsed.nodes)).toEqual([
      'httpd.conf:1 A 1',
      'httpd.conf:2 <VirtualHost *:80>',
      '  conf.d/B.conf:1 FromUpperB',
      '  conf.d/a.conf:1 FromA',
      '  conf.d/b.conf:1 FromB',
      'httpd.conf:5 B 2',
    ]);
    expect(parsed.files).toEqual(['httpd.conf', 'conf.d/B.conf', 'conf.d/a.conf', 'conf.d/b.conf']);
  });

  it('reads a directory recursively, dot files included, and wildcards in directory segments', () => {
    const dir = tree({
      'httpd.conf': 'Include dir\nInclude sites-*/x.conf\n',
      'dir/2.conf': 'Two\n',
      'dir/1/z.conf': 'OneZ\n',
      'dir/.dot': 'Dot\n',
      'sites-a/x.conf': 'SiteA\n',
      'sites-b/x.conf': 'SiteB\n',
      'sites-c': 'not a directory\n',
    });
    expect(outline(parse(dir).nodes).map((l) => l.split(' ').slice(1).join(' '))).toEqual(['Dot', 'OneZ', 'Two', 'SiteA', 'SiteB']);
  });

  it('takes relative paths from ServerRoot, else from the including file\'s directory', () => {
    const dir = tree({
      'etc/httpd.conf': 'ServerRoot ../root\nInclude from-root.conf\nInclude conf/sub.conf\n',
      'root/from-root.conf': 'RootFile\n',
      'etc/conf/sub.conf': 'Include sibling.conf\n',
      'etc/conf/sibling.conf': 'Sibling\n',
    });
    expect(outline(parse(dir, 'etc/httpd.conf').nodes)).toEqual(['root/from-root.conf:1 RootFile', 'etc/conf/sibling.conf:1 Sibling']);
  });

  it('uses the serverRoot option (httpd -d) until a ServerRoot directive', () => {
    const dir = tree({ 'conf/httpd.conf': 'Include extra.conf\n', 'base/extra.conf': 'Extra\n' });
    expect(outline(parse(dir, 'conf/httpd.conf', { serverRoot: path.join(dir, 'base') }).nodes)).toEqual(['base/extra.conf:1 Extra']);
  });

  it('fails on a wildcard without matches or a missing file, but IncludeOptional does not', () => {
    const dir = tree({
      'httpd.conf': 'IncludeOptional none.d/*.conf\nIncludeOptional missing.conf\nIncludeOptional conf.d/*.conf\nInclude conf.d/*.conf\n',
      'conf.d/readme.txt': 'x\n',
    });
    const err = parseError(dir);
    expect(err.message).toMatch(/^httpd\.conf:4: Include conf\.d\/\*\.conf: no matches for the wildcard "\*\.conf"/);

    const missing = tree({ 'httpd.conf': 'Listen 80\nInclude nothere.conf\n' });
    expect(parseError(missing).message).toBe('httpd.conf:2: cannot read nothere.conf: no such file');
  });

  it('refuses an Include cycle and names the chain', () => {
    const dir = tree({ 'httpd.conf': 'Include a.conf\n', 'a.conf': 'X 1\nInclude b.conf\n', 'b.conf': '\nInclude a.conf\n' });
    const err = parseError(dir);
    expect(err.origin).toEqual({ file: 'b.conf', line: 2 });
    expect(err.message).toBe('b.conf:2: Include cycle: a.conf -> b.conf -> a.conf');
  });

  it('refuses a file that includes itself through a glob', () => {
    const dir = tree({ 'httpd.conf': 'Include conf.d/*.conf\n', 'conf.d/self.conf': 'Include conf.d/*.conf\n' });
    expect(parseError(dir).message).toBe('conf.d/self.conf:1: Include cycle: conf.d/self.conf -> conf.d/self.conf');
  });
});

describe('syntax errors name FILE:LINE', () => {
  const cases: Array<[string, Record<string, string>, string]> = [
    ['an unclosed section (at its opening line)', { 'httpd.conf': 'Listen 80\n<VirtualHost *:80>\nServerName a\n' }, 'httpd.conf:2: <VirtualHost> was not closed (end of file reached)'],
    ['a section closed in another file', { 'httpd.conf': 'Include a.conf\n</Proxy>\n', 'a.conf': '<Proxy balancer://x>\n' }, 'a.conf:1: <Proxy> was not closed (end of file reached)'],
    ['a mismatched closing tag', { 'httpd.conf': '<VirtualHost *:80>\n<Proxy balancer://x>\n</VirtualHost>\n' }, 'httpd.conf:3: expected </Proxy> (for <Proxy> at line 2) but saw </VirtualHost>'],
    ['a closing tag without section', { 'httpd.conf': 'Listen 80\n</Location>\n' }, 'httpd.conf:2: </Location> without matching <Location> section'],
    ['a section line without >', { 'httpd.conf': '<Proxy balancer://x\n</Proxy>\n' }, "httpd.conf:1: <Proxy directive missing closing '>'"],
    ['an unterminated quote in an included file', { 'httpd.conf': 'Include x.conf\n', 'x.conf': '\n\nProxyPass /a "balancer://c\n' }, 'x.conf:3: unterminated quoted argument "balancer://c: the closing " is missing'],
    ['an unterminated quote in a continued line (first line counts)', { 'httpd.conf': 'Listen 80\nServerName \\\n "abc\n' }, 'httpd.conf:2: unterminated quoted argument "abc: the closing " is missing'],
  ];
  it.each(cases)('%s', (_name, files, message) => {
    expect(parseError(tree(files)).message).toBe(message);
  });

  it('reports that the main file cannot be read', () => {
    const dir = tree({});
    const err = parseError(dir, 'absent.conf');
    expect(err.origin).toBeNull();
    expect(err.message).toBe('cannot read absent.conf: no such file');
  });
});

describe('conditional sections and Define', () => {
  it('assumes every module is loaded and skips the negated ones unread', () => {
    const dir = tree({
      'httpd.conf': [
        '<IfModule mod_proxy.c>',
        '  Yes 1',
        '  <IfModule !mod_ssl.c>',
        '    No 1',
        '  </IfModule>',
        '</IfModule>',
        '<IfModule !mod_proxy.c>',
        '  Include does-not-exist.conf',
        '  <Nested>',
        '  </Nested>',
        '</IfModule>',
        '<IfDirective ProxyPass>',
        '  Yes 2',
        '</IfDirective>',
      ].join('\n'),
    });
    const parsed = parse(dir);
    expect(outline(parsed.nodes)).toEqual(['httpd.conf:2 Yes 1', 'httpd.conf:13 Yes 2']);
    expect(parsed.diagnostics).toEqual([]);
  });

  it('tests <IfDefine> against Define and the defines option, noting skipped blocks', () => {
    const dir = tree({
      'httpd.conf': ['Define PROD', '<IfDefine PROD>', 'A 1', '</IfDefine>', '<IfDefine !PROD>', 'B 2', '</IfDefine>', '<IfDefine SSL>', 'C 3', '</IfDefine>', 'UnDefine PROD', '<IfDefine PROD>', 'D 4', '</IfDefine>'].join('\n'),
    });
    const parsed = parse(dir);
    expect(outline(parsed.nodes)).toEqual(['httpd.conf:3 A 1']);
    expect(parsed.diagnostics.map((d) => `${d.line} ${d.directive}: ${d.message}`)).toEqual([
      '5 <IfDefine>: PROD is defined, so this block was skipped (pass -D PROD to choose otherwise)',
      '8 <IfDefine>: SSL is not defined, so this block was skipped (pass -D SSL to choose otherwise)',
      '12 <IfDefine>: PROD is not defined, so this block was skipped (pass -D PROD to choose otherwise)',
    ]);
    expect(outline(parse(dir, 'httpd.conf', { defines: ['SSL'] }).nodes)).toEqual(['httpd.conf:3 A 1', 'httpd.conf:9 C 3']);
  });

  it('compares <IfVersion> with httpd 2.4.71', () => {
    const dir = tree({
      'httpd.conf': ['<IfVersion >= 2.4>', 'A 1', '</IfVersion>', '<IfVersion < 2.4.50>', 'B 2', '</IfVersion>', '<IfVersion 2.4.71>', 'C 3', '</IfVersion>', '<IfVersion != 2.2>', 'D 4', '</IfVersion>'].join('\n'),
    });
    expect(outline(parse(dir).nodes)).toEqual(['httpd.conf:2 A 1', 'httpd.conf:8 C 3', 'httpd.conf:11 D 4']);
  });

  it('substitutes ${NAME} from Define and leaves unknown names for stickyd\'s own expansion', () => {
    const dir = tree({ 'httpd.conf': 'Define port 8080\nDefine host "10.0.0.1"\nBalancerMember balancer://c http://${host}:${port} secret=${SECRET}\n' });
    expect(outline(parse(dir).nodes)).toEqual(['httpd.conf:3 BalancerMember balancer://c http://10.0.0.1:8080 secret=${SECRET}']);
  });

  it('skips <Macro> bodies with a note', () => {
    const dir = tree({ 'httpd.conf': '<Macro VHost $name>\n<VirtualHost *:80>\n</VirtualHost>\n</Macro>\nAfter 1\n' });
    const parsed = parse(dir);
    expect(outline(parsed.nodes)).toEqual(['httpd.conf:5 After 1']);
    expect(parsed.diagnostics).toEqual([{ file: 'httpd.conf', line: 1, directive: '<Macro>', message: 'mod_macro is not supported: the macro is not expanded; write its uses out' }]);
  });
});
