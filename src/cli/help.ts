import { DEFAULT_STATE_DIR_TEXT, DEFAULTS } from '../config/defaults.js';
import { KEY_TYPES } from '../tls/key-types.js';
import { optionsHelp, SERVE_OPTIONS } from './serve-options.js';

export const MAIN_HELP = `Usage: portico <command> [options]

A multi-core web server with automatic HTTPS from an internal certificate authority.

Commands:
  serve [ROOT]             serve the folder ROOT (default: .) over HTTP and HTTPS
  serve --config FILE      serve the sites of a config file (docs/config.md)
  check --config FILE      validate a config file and show its sites, without serving
  reload --config FILE     make the Portico serving FILE read it again (also: SIGHUP)
  schema                   print the config file's JSON Schema, for editors
  ca root                  print the internal root CA certificate (PEM) to trust it
  ca trust | untrust       add the root CA to (or remove it from) the system store and the browsers
  cert request | install | list | renew   the key manager: a CSR for a commercial CA, its signed certificate installed

Options:
  -h, --help       show help (also: portico serve --help)
  -v, --version    show the version

Example:
  portico serve ./site        then open https://localhost:${DEFAULTS.https}/
`;

export const SERVE_HELP = `Usage: portico serve [ROOT] [options]

Serves the folder ROOT (default: .) with one worker per CPU. On first start an internal root CA
and a certificate for --host are created in the state directory; HTTPS connections that arrive
before the certificate is ready wait for it. Ctrl-C stops gracefully; a second Ctrl-C stops at once.

Options:
${optionsHelp(SERVE_OPTIONS)}

Environment:
  PORTICO_LOG_LEVEL      debug | info | warn | error (default: info); the log goes to stderr
`;

export const CHECK_HELP = `Usage: portico check --config FILE

Validates a config file as portico serve would, reporting every problem at once as
FILE:LINE:COL path: what is wrong; what to do. Exit code 0 when valid, with a summary of the
sites, their hosts, certificates and log folders; 1 when not.
`;

export const RELOAD_HELP = `Usage: portico reload --config FILE

Validates FILE, then asks the running Portico serving it (found through its pid file in the
state folder) to read it again, as SIGHUP does. Requests in flight, keep-alive connections and
downloads carry on; an invalid file is refused and the running configuration keeps serving.
`;

export const CA_HELP = `Usage: portico ca root | trust | untrust [--state DIR]

  ca root       prints the internal root CA certificate (PEM) on stdout, for example:
                  portico ca root > portico-root.crt
                  curl --cacert portico-root.crt https://localhost:${DEFAULTS.https}/
  ca trust      adds the root CA to the system store (update-ca-certificates; needs sudo) and to
                the NSS databases Chromium and Firefox read (certutil, from libnss3-tools), as
                caddy trust and mkcert do; records what it added in the state directory
  ca untrust    removes exactly what ca trust added

Options:
  --state DIR          the state directory (default: ${DEFAULT_STATE_DIR_TEXT})
  --only nss|system    ca trust: only the browsers' databases, or only the system store
  -h, --help           show this help
`;

export const CERT_HELP = `Usage: portico cert request --host NAME [--host NAME...] [--key-type TYPE] [--state DIR]
       portico cert install SIGNED.pem [--state DIR]
       portico cert list [--json] [--state DIR | --config FILE]
       portico cert renew [--site NAME] --config FILE

The key manager, for certificates from a commercial CA. request makes a key pair and prints a
certificate signing request (PKCS#10, PEM) for the hosts; the private key stays pending,
owner-only, in the state directory. install takes the signed certificate (leaf first, then its
chain), checks it (its pending key, its dates, every host requested, the chain) and installs it:
a running Portico with that state directory serves it within 5 s for every site whose tls is
internal and whose hosts it covers. list shows every certificate in the store (internal, acme,
installed; with --config also each site's own files) with its names, issuer, expiry, key type,
fingerprint and the sites that use it. renew issues the sites' certificates again now (internal
CA or ACME), under the same lock a running server renews with; every running Portico on that
store serves the new one within 5 s.

Options:
  --host NAME        a DNS name or IP address the certificate is for; repeat for more
  --key-type TYPE    ${KEY_TYPES.map((type) => (type === DEFAULTS.keyType ? `${type} (default)` : type)).join(', ')}
  --json             cert list: one JSON array
  --config FILE      use the config file's store (its state folder, or its Redis) and sites
  --site NAME        cert renew: only this site (default: every site)
  --state DIR        the state directory (default: ${DEFAULT_STATE_DIR_TEXT})
  -h, --help         show this help
`;
