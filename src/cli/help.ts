import { KEY_TYPES } from '../tls/key-types.js';

export const MAIN_HELP = `Usage: portico <command> [options]

A multi-core web server with automatic HTTPS from an internal certificate authority.

Commands:
  serve [ROOT]     serve the folder ROOT (default: .) over HTTP and HTTPS
  ca root          print the internal root CA certificate (PEM) to trust it

Options:
  -h, --help       show help (also: portico serve --help)
  -v, --version    show the version

Example:
  portico serve ./site        then open https://localhost:8443/
`;

export const SERVE_HELP = `Usage: portico serve [ROOT] [options]

Serves the folder ROOT (default: .) with one worker per CPU. On first start an internal root CA
and a certificate for --host are created in the state directory; HTTPS connections that arrive
before the certificate is ready wait for it.

Options:
  --http PORT            plain HTTP port (default 8080; 0 turns it off)
  --https PORT           HTTPS port, HTTP/2 and HTTP/1.1 (default 8443; 0 turns it off)
  --bind ADDRESS         listen on this IP address only (default: every interface)
  --host NAME            a name or IP address the certificate covers; repeat for more
                         (default: localhost, 127.0.0.1, ::1)
  --workers N            worker processes (default: the number of CPUs)
  --state DIR            where keys and certificates live
                         (default: $XDG_DATA_HOME/portico or ~/.local/share/portico)
  --key-type TYPE        certificate key: ${KEY_TYPES.join(' | ')} (default ec-p256)
  --cert-lifetime TIME   certificate lifetime, renewed at two thirds (default 7d; e.g. 12h, 90s)
  --hold-timeout TIME    how long a handshake waits for a certificate (default 30s)
  --browse               list folders that have no index.html (default: 403)
  --cache-control VALUE  Cache-Control for files (default "no-cache": revalidate each time)
  --header-timeout TIME  a client must send its request headers within this (default 20s)
  -h, --help             show this help
`;

export const CA_HELP = `Usage: portico ca root [--state DIR]

Prints the internal root CA certificate (PEM) on stdout. Trust it to make browsers and tools
accept Portico's certificates, for example:
  portico ca root > portico-root.crt
  curl --cacert portico-root.crt https://localhost:8443/

Options:
  --state DIR    the state directory (default: $XDG_DATA_HOME/portico or ~/.local/share/portico)
  -h, --help     show this help
`;
