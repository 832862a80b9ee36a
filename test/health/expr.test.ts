// hcexpr: the ap_expr subset of mod_proxy_hcheck conditions — parsing, errors, evaluation, config-load validation.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/index.js';
import { HcExpr, HcExprError, hcExprProblem } from '../../src/health/expr.js';

function response(status: number, body = '', headers: Record<string, string> = {}) {
  return { status, body, header: (name: string) => headers[name] };
}

function holds(expr: string, status: number, body = '', headers: Record<string, string> = {}): boolean {
  return HcExpr.parse(expr).test(response(status, body, headers));
}

describe('evaluation', () => {
  it.each<[string, number, boolean]>([
    // Apache's documented conditions.
    ['%{REQUEST_STATUS} =~ /^[234]/', 200, true],
    ['%{REQUEST_STATUS} =~ /^[234]/', 302, true],
    ['%{REQUEST_STATUS} =~ /^[234]/', 404, true],
    ['%{REQUEST_STATUS} =~ /^[234]/', 500, false],
    ['%{REQUEST_STATUS} =~ /^[5]/', 503, true],
    ['%{REQUEST_STATUS} !~ /^5/', 503, false],
    ['%{REQUEST_STATUS} !~ /^5/', 204, true],
    // Integer comparisons.
    ['%{REQUEST_STATUS} -lt 400', 399, true],
    ['%{REQUEST_STATUS} -lt 400', 400, false],
    ['%{REQUEST_STATUS} -ge 200 && %{REQUEST_STATUS} -le 299', 299, true],
    ['%{REQUEST_STATUS} -ge 200 && %{REQUEST_STATUS} -le 299', 300, false],
    ['%{REQUEST_STATUS} -eq 204', 204, true],
    ['%{REQUEST_STATUS} -ne 204', 204, false],
    ['%{REQUEST_STATUS} -gt 100', 101, true],
    // String comparisons (as ap_expr does them).
    ['%{REQUEST_STATUS} == 200', 200, true],
    ["%{REQUEST_STATUS} = '200'", 200, true],
    ['%{REQUEST_STATUS} != 200', 201, true],
    ["%{REQUEST_STATUS} < '300'", 204, true],
    ["%{REQUEST_STATUS} >= '300'", 204, false],
    // Lists, logic, precedence, parentheses.
    ["%{REQUEST_STATUS} -in {'200', '204'}", 204, true],
    ["%{REQUEST_STATUS} -in {'200', '204'}", 201, false],
    ['%{REQUEST_STATUS} == 500 || %{REQUEST_STATUS} == 200 && false', 500, true],
    ['(%{REQUEST_STATUS} == 500 || %{REQUEST_STATUS} == 200) && false', 500, false],
    ['!(%{REQUEST_STATUS} == 500)', 500, false],
    ['! %{REQUEST_STATUS} == 500', 200, true],
    ['true', 500, true],
    ['false || true', 500, true],
  ])('%s with status %i → %s', (expr, status, expected) => {
    expect(holds(expr, status)).toBe(expected);
  });

  it('reads the body through hc(\'body\') and %{HC_BODY}', () => {
    expect(holds("hc('body') !~ /Under maintenance/", 200, 'all good')).toBe(true);
    expect(holds("hc('body') !~ /Under maintenance/", 200, '<h1>Under maintenance</h1>')).toBe(false);
    expect(holds('%{HC_BODY} =~ /"status":\\s*"UP"/', 200, '{"status": "UP"}')).toBe(true);
    expect(holds('%{HC_BODY} =~ /"status":\\s*"UP"/', 200, '{"status": "DOWN"}')).toBe(false);
    expect(holds("hc('BODY') == 'ok'", 200, 'ok')).toBe(true);
  });

  it('a regex with the i flag, and with m#...# delimiters', () => {
    expect(holds('%{HC_BODY} =~ /healthy/i', 200, 'HEALTHY')).toBe(true);
    expect(holds('%{HC_BODY} =~ /healthy/', 200, 'HEALTHY')).toBe(false);
    expect(holds('%{HC_BODY} =~ m#a/b#', 200, 'xa/by')).toBe(true);
  });

  it("reads response headers through resp('Name'), case-insensitively; absent is empty", () => {
    expect(holds("resp('Content-Type') =~ /json/", 200, '', { 'content-type': 'application/json' })).toBe(true);
    expect(holds("resp('X-Missing') == ''", 200)).toBe(true);
  });

  it('needsBody tells whether the body must be read', () => {
    expect(HcExpr.parse('%{REQUEST_STATUS} =~ /^2/').needsBody).toBe(false);
    expect(HcExpr.parse("%{REQUEST_STATUS} == 200 && hc('body') =~ /ok/").needsBody).toBe(true);
    expect(HcExpr.parse("!(%{HC_BODY} == 'down')").needsBody).toBe(true);
    expect(HcExpr.parse("%{REQUEST_STATUS} -in {'200', %{HC_BODY}}").needsBody).toBe(true);
  });

  it('never evaluates text as code', () => {
    // Anything that is not the grammar is a parse error, never run.
    expect(() => HcExpr.parse("process.exit(1)")).toThrow(HcExprError);
    expect(() => HcExpr.parse('%{REQUEST_STATUS} == 200; require("fs")')).toThrow(HcExprError);
  });
});

describe('errors name the problem and the column', () => {
  it.each<[string, RegExp]>([
    ['', /empty/],
    ['%{REQUEST_STATUS}', /expected an operator .* found the end at column 18/],
    ['%{REQUEST_STATUS} =~ ^[23]', /expected a regular expression such as \/\^\[23\]\/ after =~ at column 22/],
    ['%{REQUEST_STATUS} =~ /^[23/', /invalid regular expression/],
    ['%{REQUEST_STATUS} =~ /^2', /unterminated regular expression/],
    ['%{REQUEST_STATUS} =~ /^2/g', /unknown regular expression flag "g"/],
    ['%{STATUS} == 200', /unknown variable %\{STATUS\}/],
    ["foo('x') == 1", /unknown function foo\(\)/],
    ["hc('headers') == 1", /hc\(\) knows only 'body'/],
    ['%{REQUEST_STATUS} == up', /strings need quotes: 'up'/],
    ["%{REQUEST_STATUS} == 'x", /unterminated string/],
    ['%{REQUEST_STATUS} -like 2', /unknown operator "-like"/],
    ['(%{REQUEST_STATUS} == 200', /expected "\)"/],
    ['%{REQUEST_STATUS} == 200 200', /expected && or \|\|/],
    ["%{REQUEST_STATUS} -in {'200' '204'}", /expected "," or "}"/],
    ['%{REQUEST_STATUS} == 200 &&', /expected a value/],
    ['%{REQUEST_STATUS} @ 200', /unexpected "@"/],
  ])('%j', (text, message) => {
    expect(hcExprProblem(text)).toMatch(message);
  });

  it('hcExprProblem is null for a good expression', () => {
    expect(hcExprProblem('%{REQUEST_STATUS} =~ /^[23]/')).toBeNull();
  });
});

describe('the config loader refuses a bad hcexpr with its position', () => {
  const file = (expr: string) => `listen: [{ address: 127.0.0.1, port: 8080 }]
balancers:
  c1:
    members:
      - url: http://127.0.0.1:8081
        hcmethod: GET
        hcexpr: ${JSON.stringify(expr)}
`;

  it('accepts a good one', () => {
    const config = parseConfig(file('%{REQUEST_STATUS} =~ /^[23]/'), 'hc.yaml', {});
    expect(config.balancers[0]!.members[0]!.hcexpr).toBe('%{REQUEST_STATUS} =~ /^[23]/');
  });

  it('refuses a bad one at its line', () => {
    let error: unknown;
    try {
      parseConfig(file('%{REQUEST_STATUS} =~ /^[23/'), 'hc.yaml', {});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^hc\.yaml:7:\d+: balancers\.c1\.members\[0\]\.hcexpr: invalid regular expression/m);
  });
});
