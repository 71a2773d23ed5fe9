/**
 * Debug logging, off by default. Enable with TCPIP_DEBUG=1 (all layers) or a comma list
 * of layers (TCPIP_DEBUG=tcp,arp). Drops are logged with their reason through here;
 * the counters are always kept, logging is optional.
 */
export interface Logger {
  enabled(layer: string): boolean;
  log(layer: string, msg: string): void;
}

export const silentLogger: Logger = {
  enabled: () => false,
  log: () => {},
};

export function consoleLogger(spec: string | undefined): Logger {
  if (spec === undefined || spec === '' || spec === '0') return silentLogger;
  const all = spec === '1' || spec === 'all' || spec === '*';
  const layers = new Set(spec.split(',').map((s) => s.trim()));
  return {
    enabled: (layer) => all || layers.has(layer),
    log: (layer, msg) => {
      if (all || layers.has(layer)) process.stderr.write(`[${layer}] ${msg}\n`);
    },
  };
}
