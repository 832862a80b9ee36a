/**
 * Why a directive has no stickyd equivalent, for the `FILE:LINE: Directive: why` lines. Keys are
 * lower-cased directive names; a name ending in `*` covers every directive with that prefix.
 * Directives listed in SILENT need nothing: stickyd already behaves as they say.
 */

/** Nothing to convert and nothing lost. */
export const SILENT = new Set([
  // Loading modules: every module is assumed present (the brief), stickyd has them built in.
  'loadmodule',
  'loadfile',
  // Consumed while converting members (params.ts).
  'proxyhcexpr',
  'proxyhctemplate',
]);

const REASONS: Array<[string, string]> = [
  ['rewrite*', 'mod_rewrite is not supported; express the mapping as ProxyPass prefix rules'],
  ['header', 'mod_headers is not supported (only the ROUTEID cookie recipe is converted, to routecookie)'],
  ['requestheader', 'mod_headers is not supported'],
  ['require', 'access control is not converted: stickyd has none (restrict the listen address, or put it behind something that checks)'],
  ['order', 'access control is not converted: stickyd has none'],
  ['allow', 'access control is not converted: stickyd has none'],
  ['deny', 'access control is not converted: stickyd has none'],
  ['satisfy', 'access control is not converted: stickyd has none'],
  ['auth*', 'authentication is not converted: stickyd has none'],
  ['documentroot', 'stickyd serves no files'],
  ['directoryindex', 'stickyd serves no files'],
  ['alias', 'stickyd serves no files'],
  ['aliasmatch', 'stickyd serves no files'],
  ['scriptalias', 'stickyd serves no files'],
  ['options', 'stickyd serves no files'],
  ['allowoverride', 'stickyd serves no files'],
  ['redirect', 'mod_alias redirects are not supported'],
  ['redirectmatch', 'mod_alias redirects are not supported'],
  ['redirectpermanent', 'mod_alias redirects are not supported'],
  ['errorlog', 'stickyd logs JSON lines to stdout (log: in the balancer file)'],
  ['customlog', 'stickyd writes its own JSON access log (log.access)'],
  ['transferlog', 'stickyd writes its own JSON access log (log.access)'],
  ['logformat', 'stickyd writes its own JSON access log (log.access)'],
  ['loglevel', 'stickyd has one log level (log.level)'],
  ['serveralias', 'stickyd does not choose by host name: every listener serves every rule'],
  ['serveradmin', 'no stickyd equivalent'],
  ['user', 'no stickyd equivalent: run stickyd as the user it should run as'],
  ['group', 'no stickyd equivalent: run stickyd as the group it should run as'],
  ['pidfile', 'no stickyd equivalent'],
  ['mutex', 'no stickyd equivalent'],
  ['errordocument', 'stickyd answers errors with its own short pages'],
  ['proxyerroroverride', 'stickyd passes backend error pages through'],
  ['proxyvia', 'stickyd sends no Via header (ProxyVia Off)'],
  ['proxyrequests', 'stickyd is a reverse proxy only (ProxyRequests Off)'],
  ['proxypassinherit', 'stickyd has one mount table: the main server\'s ProxyPass rules apply to every listener'],
  ['balancerinherit', 'stickyd has one balancer of each name for every listener'],
  ['balancerpersist', 'stickyd keeps member state across reloads of the balancer file, not across restarts'],
  ['balancergrowth', 'stickyd does not add balancers at run time (growth= adds member slots)'],
  ['limitrequest*', 'not converted; server.maxheadersize limits the whole request header block'],
  ['proxyiobuffersize', 'stickyd sizes its buffers itself'],
  ['proxyreceivebuffersize', 'stickyd uses the system socket buffer size'],
  ['proxymaxforwards', 'stickyd does not handle Max-Forwards'],
  ['proxybadheader', 'stickyd refuses malformed backend headers (502)'],
  ['proxypassinterpolateenv', 'environment interpolation in ProxyPass rules is not supported'],
  ['proxyremote', 'stickyd does not forward to other proxies'],
  ['proxyremotematch', 'stickyd does not forward to other proxies'],
  ['noproxy', 'stickyd does not forward to other proxies'],
  ['proxyblock', 'stickyd is a reverse proxy only'],
  ['proxydomain', 'stickyd is a reverse proxy only'],
  ['proxysourceaddress', 'stickyd lets the system choose the source address'],
  ['proxystatus', 'the admin listener shows balancer status'],
  ['use', 'mod_macro is not supported'],
  ['sethandler', 'handlers are not supported'],
  ['addhandler', 'handlers are not supported'],
];

export function notConvertedReason(directive: string): string {
  const lower = directive.toLowerCase();
  for (const [key, why] of REASONS) {
    if (key.endsWith('*') ? lower.startsWith(key.slice(0, -1)) : lower === key) return why;
  }
  return 'no stickyd equivalent';
}

/** Sections whose contents are not converted, with the reason (one line for the whole section). */
export const SKIPPED_SECTIONS: Record<string, string> = {
  directory: 'stickyd serves no files',
  directorymatch: 'stickyd serves no files',
  files: 'stickyd serves no files',
  filesmatch: 'stickyd serves no files',
  if: '<If> expressions are not evaluated',
  elseif: '<If> expressions are not evaluated',
  else: '<If> expressions are not evaluated',
  limit: 'access control is not converted: stickyd has none',
  limitexcept: 'access control is not converted: stickyd has none',
  requireall: 'access control is not converted: stickyd has none',
  requireany: 'access control is not converted: stickyd has none',
  requirenone: 'access control is not converted: stickyd has none',
  proxymatch: 'settings for proxied URLs matched by a regular expression are not supported',
};
