/**
 * A TCP proxy that can leave a client's connections stale: `sever()` drops every upstream
 * connection without telling the client (its sockets stay open, as after a failover behind a
 * load balancer or a NAT that forgot them), and the first bytes the client then sends on one
 * are answered with a reset. New connections go through as usual. This is what a pool holding
 * idle connections across a database restart runs into when nothing closed them.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface SeveringProxy {
  port: number;
  /** Drops the upstream half of every open connection; the client's half stays open until it writes. */
  sever(): void;
  /** Connections that were severed and then reset when the client wrote on them. */
  readonly resets: number;
  close(): Promise<void>;
}

export async function startSeveringProxy(targetHost: string, targetPort: number): Promise<SeveringProxy> {
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket; severed: boolean }>();
  let resets = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    const pair = { client, upstream, severed: false };
    pairs.add(pair);
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (d: Buffer) => {
      if (pair.severed) {
        resets++;
        client.resetAndDestroy();
        pairs.delete(pair);
        return;
      }
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      if (!pair.severed) client.write(d);
    });
    client.on('error', end);
    client.on('close', end);
    upstream.on('error', () => {
      if (!pair.severed) end();
    });
    upstream.on('close', () => {
      if (!pair.severed) end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    sever: () => {
      for (const p of pairs) {
        p.severed = true;
        p.upstream.destroy();
      }
    },
    get resets() {
      return resets;
    },
    close: () => {
      for (const p of pairs) {
        p.client.destroy();
        p.upstream.destroy();
      }
      pairs.clear();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
