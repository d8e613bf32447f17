import { parseArgs, type ParseArgsConfig } from 'node:util';
import { describeError, isPorticoError, PorticoError, systemErrorCode, userErrorLines } from '../errors.js';
import { caRootCommand, caTrustCommand, caUntrustCommand } from './commands/ca.js';
import { certInstallCommand, certListCommand, certRenewCommand, certRequestCommand } from './commands/cert.js';
import { checkCommand, reloadCommand, schemaCommand } from './commands/config.js';
import { serveCommand, serveConfigCommand } from './commands/serve.js';
import { CA_HELP, CERT_HELP, CHECK_HELP, MAIN_HELP, RELOAD_HELP, SERVE_HELP } from './help.js';
import { parserOptions, SERVE_OPTIONS, withDefaults } from './serve-options.js';
import { suggestAll } from '../text/suggest.js';
import { PORTICO_VERSION } from '../version.js';

const COMMANDS = ['serve', 'check', 'reload', 'ca', 'cert', 'schema'] as const;
const CERT_OPTIONS = { host: { type: 'string', multiple: true }, 'key-type': { type: 'string' }, state: { type: 'string' }, config: { type: 'string' }, site: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const satisfies ParseArgsConfig['options'];
const CA_OPTIONS = { state: { type: 'string' }, only: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const satisfies ParseArgsConfig['options'];
const CONFIG_OPTIONS = { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const satisfies ParseArgsConfig['options'];

/**
 * The CLI's one catch: a user error becomes one line per problem on stderr and exit code 2
 * (usage) or 1 (anything else); only a bug prints a stack trace.
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (error) {
    const lines = userErrorLines(error);
    if (lines !== undefined) {
      for (const line of lines) process.stderr.write(`portico: ${line}\n`);
      return isPorticoError(error) && error.code === 'ERR_USAGE' ? 2 : 1;
    }
    process.stderr.write(`portico: internal error, please report it: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 70;
  }
}

async function dispatch(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(MAIN_HELP);
      return command === undefined ? 2 : 0;
    case '-v':
    case '--version':
      process.stdout.write(`${PORTICO_VERSION}\n`);
      return 0;
    case 'serve': {
      const { values, positionals } = parse('serve', rest, parserOptions(SERVE_OPTIONS));
      if (values.help) return printed(SERVE_HELP);
      if (positionals.length > 1) throw usage(`serve takes one folder, got ${positionals.length}: ${positionals.join(' ')}`, 'serve');
      if (typeof values.config === 'string') {
        // A config file says everything the flags would: mixing the two would leave it unclear which wins.
        const others = [...Object.keys(values).filter((name) => name !== 'config').map((name) => `--${name}`), ...positionals];
        if (others.length > 0) throw usage(`--config cannot be combined with ${others.join(' ')}: put it in the config file`, 'serve');
        return serveConfigCommand(values.config);
      }
      return serveCommand({ ...withDefaults(SERVE_OPTIONS, values), root: positionals[0] });
    }
    case 'check':
    case 'reload': {
      const { values, positionals } = parse(command, rest, CONFIG_OPTIONS);
      if (values.help) return printed(command === 'check' ? CHECK_HELP : RELOAD_HELP);
      if (typeof values.config !== 'string' || positionals.length > 0) throw usage(`${command} takes --config FILE and nothing else`, command);
      return command === 'check' ? checkCommand(values.config) : reloadCommand(values.config);
    }
    case 'schema':
      return schemaCommand();
    case 'ca': {
      const { values, positionals } = parse('ca', rest, CA_OPTIONS);
      if (values.help) return printed(CA_HELP);
      const state = typeof values.state === 'string' ? values.state : undefined;
      const sub = positionals.join(' ');
      if (sub === 'root') return caRootCommand(state);
      if (sub === 'trust') return caTrustCommand(state, typeof values.only === 'string' ? values.only : undefined);
      if (sub === 'untrust') return caUntrustCommand(state);
      throw usage(`unknown ca command ${JSON.stringify(sub)}: use ca root, ca trust or ca untrust`, 'ca');
    }
    case 'cert': {
      const { values, positionals } = parse('cert', rest, CERT_OPTIONS);
      if (values.help) return printed(CERT_HELP);
      const state = typeof values.state === 'string' ? values.state : undefined;
      const hosts = Array.isArray(values.host) ? values.host.filter((host): host is string => typeof host === 'string') : [];
      const [sub, ...args] = positionals;
      if (sub === 'request' && args.length === 0) return certRequestCommand(hosts, typeof values['key-type'] === 'string' ? values['key-type'] : undefined, state);
      if (sub === 'install' && args.length <= 1) return certInstallCommand(args[0], state);
      const config = typeof values.config === 'string' ? values.config : undefined;
      if (sub === 'list' && args.length === 0) return certListCommand(values.json === true, state, config);
      if (sub === 'renew' && args.length === 0) return certRenewCommand(typeof values.site === 'string' ? values.site : undefined, config);
      throw usage(`unknown cert command ${JSON.stringify(positionals.join(' '))}: use cert request, cert install FILE, cert list or cert renew`, 'cert');
    }
    default: {
      const guesses = suggestAll(command, COMMANDS);
      throw usage(`unknown command ${JSON.stringify(command)}: ${guesses.length > 0 ? `did you mean ${guesses.join(' or ')}? ` : ''}use ${COMMANDS.join(' or ')}`, undefined);
    }
  }
}

function parse(command: string, args: string[], options: NonNullable<ParseArgsConfig['options']>) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    const option = /'(-[^' ]+)/.exec(describeError(error))?.[1] ?? '';
    switch (systemErrorCode(error)) {
      case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
        const guesses = suggestAll(option.replace(/^-+/, ''), Object.keys(options));
        throw usage(`unknown option ${option} for ${command}${guesses.length > 0 ? ` (did you mean ${guesses.map((guess) => `--${guess}`).join(' or ')}?)` : ''}`, command);
      }
      case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
        throw usage(`option ${option} needs a value`, command);
      default:
        throw usage(describeError(error), command);
    }
  }
}

function usage(message: string, command: string | undefined): PorticoError {
  return new PorticoError('ERR_USAGE', `${message}; see portico ${command ? `${command} ` : ''}--help`);
}

function printed(text: string): number {
  process.stdout.write(text);
  return 0;
}
