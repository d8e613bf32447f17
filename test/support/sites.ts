import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Three sites on one port pair: docs (the default, with a wildcard and a virtual directory), shop and blog. */
export const THREE_SITES = (state: string): string => `http: 0
https: 0
bind: 127.0.0.1
workers: 2
state: ${state}
sites:
  - name: docs
    hosts: [docs.example.test, "*.docs.example.test"]
    root: ./docs
    default: true
    vdirs:
      - { path: /downloads, root: ./files }
  - name: shop
    hosts: [shop.example.test]
    root: ./shop
  - name: blog
    hosts: [blog.example.test]
    root: ./blog
`;

/** Each site's folder with an index.html that names it, and the folder of docs' /downloads. */
export async function writeSites(dir: string): Promise<void> {
  for (const name of ['docs', 'shop', 'blog']) {
    await mkdir(join(dir, name), { recursive: true });
    await writeFile(join(dir, name, 'index.html'), `this is ${name}\n`);
  }
  await mkdir(join(dir, 'files'), { recursive: true });
  await writeFile(join(dir, 'files', 'manual.txt'), 'the manual\n');
}

/** A site's `redirects` key, as both the socket and the in-process rule tests serve it: prefixes with {path} and {uri}, a glob to another host, an exact path with a query. */
export const REDIRECT_RULES = `    redirects:
      - { from: /old/, to: "/new/{path}", status: 301 }
      - { from: /go/, to: "/{path}", status: 302 }
      - { from: /raw/, to: "/{uri}", status: 302 }
      - { from: "/blog/**", to: "https://blog.example.test{uri}", status: 308 }
      - { from: /moved, to: "/there?from=moved", status: 307 }
`;
