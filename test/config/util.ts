/** Shared helpers of the config tests: parse a YAML text and get the Config or the problems. */
import { ConfigError, parseConfig, type Config, type ConfigProblem } from '../../src/config/index.js';

export const FILE = 'test.yaml';

export function parse(text: string, env: NodeJS.ProcessEnv = {}): Config {
  return parseConfig(text, FILE, env);
}

/** The problems of a text that must be invalid (fails the test when it is valid). */
export function problems(text: string, env: NodeJS.ProcessEnv = {}): ConfigProblem[] {
  try {
    parseConfig(text, FILE, env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error(`expected the text to be invalid:\n${text}`);
}

/** `line:col path: message` of each problem, for compact exact assertions. */
export function brief(list: ConfigProblem[]): string[] {
  return list.map((p) => `${p.line}:${p.col} ${p.path}: ${p.message}`);
}

/** The smallest valid file: one listener, one balancer with one member, one rule. */
export const MINIMAL = `listen:
  - port: 8051
balancers:
  b:
    members:
      - url: http://127.0.0.1:8081
proxypass:
  - { path: /, url: balancer://b }
`;
