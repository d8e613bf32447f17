import { planFromConfigFile } from '../../config/config-file.js';
import type { RoutePlan, SitePlan } from '../../config/plan.js';
import { configJsonSchema } from '../../config/config-schema.js';
import { findPrimary } from '../../cluster/service-manager.js';

/** `portico check --config FILE`: validates without serving, and prints what would be served. */
export async function checkCommand(file: string): Promise<number> {
  const plan = await planFromConfigFile(file);
  const out: string[] = [`${plan.configFile}: valid, ${plan.serving.sites.length} site(s)`];
  const listeners = plan.serving.bindings.map((binding) => `${binding.name} ${binding.address ?? '*'}:${binding.port}`);
  out.push(`  listeners: ${listeners.join(', ')}; workers: ${plan.workers}; state: ${plan.stateDir}`);
  for (const site of plan.serving.sites) {
    const certificate = plan.certificates.find((candidate) => candidate.id === site.certificateId);
    const tls =
      certificate === undefined
        ? 'no TLS listener'
        : certificate.source === 'internal'
          ? `internal CA (${certificate.keyType})`
          : certificate.source === 'acme'
            ? `ACME ${certificate.directory} (${certificate.challenges.join(', ')}); internal CA until issued`
            : `files ${certificate.certFile}, ${certificate.keyFile}`;
    out.push(`  site ${site.name}${site.isDefault ? ' (default)' : ''}`);
    out.push(`    hosts:       ${site.hosts.join(', ')}`);
    out.push(`    root:        ${site.root ?? 'none (every path is proxied)'}${site.vdirs.map((vdir) => `; ${vdir.path} -> ${vdir.root}`).join('')}`);
    out.push(`    certificate: ${tls}`);
    out.push(`    access log:  ${site.accessLog ? site.accessLog.dir : 'off'}`);
    out.push(...describeRoutes(site).map(([label, text]) => `    ${`${label}:`.padEnd(13)}${text}`));
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

/**
 * A site's routes and rules, one line each, in the order a request meets them: redirects to
 * HTTPS and elsewhere, auth, proxy routes, then what shapes the files' answers. Nothing for a
 * site that serves only its files.
 */
export function describeRoutes(site: SitePlan): [label: string, text: string][] {
  const { rules } = site;
  const lines: [string, string][] = [];
  if (rules.httpsRedirect) lines.push(['redirect', 'plain HTTP -> https:// (308)']);
  if (rules.hsts !== undefined) lines.push(['hsts', rules.hsts]);
  for (const rule of rules.redirects) lines.push(['redirect', `${rule.from} -> ${rule.to} (${rule.status})`]);
  for (const rule of rules.auth) lines.push(['auth', `${rule.path} realm "${rule.realm}", ${Object.keys(rule.users).length} user(s) from ${rule.file}`]);
  for (const route of site.routes) lines.push(['route', describeRoute(route)]);
  for (const route of site.proxy) {
    const health = route.health ? `, health ${route.health.path} every ${seconds(route.health.intervalMs)}` : '';
    lines.push(['proxy', `${route.path} -> ${route.to.join(', ')} (${route.balance}${health}${route.host === 'upstream' ? ', Host: upstream' : ''})`]);
  }
  if (rules.tryFiles) lines.push(['tryFiles', rules.tryFiles.join(', ')]);
  for (const [status, page] of Object.entries(rules.errorPages)) lines.push(['error page', `${status} -> ${page}`]);
  for (const rule of rules.headers) {
    const changes = [
      ...Object.entries(rule.set).map(([name, value]) => `set ${name}: ${value}`),
      ...Object.entries(rule.add).map(([name, value]) => `add ${name}: ${value}`),
      ...rule.remove.map((name) => `remove ${name}`),
    ];
    lines.push(['headers', `${rule.path} ${changes.join('; ')}`]);
  }
  if (rules.cors) lines.push(['cors', `${rules.cors.origins.join(', ')} (${rules.cors.methods.join(', ')}${rules.cors.credentials ? ', credentials' : ''})`]);
  if (site.browse) lines.push(['browse', 'folders without index.html are listed']);
  if (rules.symlinks === 'follow') lines.push(['symlinks', 'followed, also out of the root']);
  return lines;
}

/** `/health GET -> respond` or `@app -> proxy`: a route's conditions, then its handlers' kinds. */
function describeRoute(route: RoutePlan): string {
  const match = route.match;
  const conditions = match === undefined ? [] : [
    ...(match.path ?? []),
    ...(match.method ?? []),
    ...Object.entries(match.header ?? {}).map(([name, values]) => `${name}: ${values.join(' | ')}`),
    ...Object.entries(match.query ?? {}).map(([name, values]) => `?${name}=${values.join(' | ')}`),
    ...(match.client ? [`from ${match.client.join(', ')}`] : []),
  ];
  const when = route.name !== undefined && match === undefined ? `@${route.name} (only by name)` : [...(route.name ? [`@${route.name}`] : []), ...(conditions.length > 0 ? conditions : ['every request'])].join(' ');
  return `${when} -> ${route.handle.map((entry) => entry.kind).join(', ')}`;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * `portico reload --config FILE`: checks the file here first, so a broken one is reported to
 * the person who typed the command; then signals the primary serving that file (SIGHUP).
 */
export async function reloadCommand(file: string): Promise<number> {
  const plan = await planFromConfigFile(file);
  const pid = findPrimary(plan.stateDir, plan.configFile!);
  process.kill(pid, 'SIGHUP');
  process.stdout.write(`asked Portico (pid ${pid}) to reload ${plan.configFile}; its log says when the new sites are served\n`);
  return 0;
}

/** `portico schema`: the config file's JSON Schema, for editors. */
export function schemaCommand(): number {
  process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  return 0;
}
