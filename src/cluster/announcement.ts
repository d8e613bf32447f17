import { isIP } from 'node:net';
import type { BindingName, Plan } from '../config/plan.js';

/** The lines the first worker to listen makes the primary print: what is served, with how many workers, where. */
export function servingLines(plan: Plan, listeners: readonly { readonly name: BindingName; readonly port: number }[]): string[] {
  const { sites } = plan.serving;
  const what = sites.length === 1 ? (sites[0]!.root ?? `site ${sites[0]!.name}`) : `${sites.length} sites (${sites.map((site) => site.name).join(', ')})`;
  return [`Portico serving ${what} with ${plan.workers} worker(s)`, ...listeners.map(({ name, port }) => `  ${name}://${displayHost(plan)}:${port}/`)];
}

/** The host to show in a URL: the default site's first DNS name, else the bind address. */
function displayHost(plan: Plan): string {
  const site = plan.serving.sites.find((candidate) => candidate.isDefault) ?? plan.serving.sites[0];
  const hosts = (site?.hosts ?? []).filter((host) => !host.startsWith('*.'));
  const name = hosts.find((host) => isIP(host) === 0);
  if (name) return name;
  const address = plan.serving.bindings[0]?.address ?? hosts[0] ?? 'localhost';
  return isIP(address) === 6 ? `[${address}]` : address;
}
