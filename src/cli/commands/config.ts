import { planFromConfigFile } from '../../config/config-file.js';
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
    out.push(`    root:        ${site.root}${site.vdirs.map((vdir) => `; ${vdir.path} -> ${vdir.root}`).join('')}`);
    out.push(`    certificate: ${tls}`);
    out.push(`    access log:  ${site.accessLog ? site.accessLog.dir : 'off'}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
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
