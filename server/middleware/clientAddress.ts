import { BlockList, isIP } from 'node:net';
import type { Request } from 'express';

/** Rule 4: the client is the socket peer, unless that peer is a proxy we were told to trust. */
export function clientAddressResolver(trusted: string[]): (req: Request) => string {
  const isTrusted = trustCheck(trusted);
  return (req) => {
    const peer = normalize(req.socket.remoteAddress ?? '');
    if (trusted.length === 0 || !isTrusted(peer)) return peer;
    const forwarded = String(req.headers['x-forwarded-for'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    // Walk from the nearest hop back; the first address we do not trust is the client.
    for (let i = forwarded.length - 1; i >= 0; i--) {
      const hop = normalize(forwarded[i]!);
      if (isIP(hop) === 0) return peer;
      if (!isTrusted(hop)) return hop;
    }
    return forwarded.length ? normalize(forwarded[0]!) : peer;
  };
}

const trustChecks = new WeakMap<string[], (ip: string) => boolean>();

/**
 * Did the browser reach us over TLS? Either the socket itself is TLS, or the peer is a proxy
 * from BASTION_TRUST_PROXY that says so (X-Forwarded-Proto: https). Then the session cookie
 * gets `Secure`. Anyone else's X-Forwarded-Proto is ignored.
 */
export function isSecureRequest(req: Request, trusted: string[]): boolean {
  if ((req.socket as { encrypted?: boolean }).encrypted) return true;
  if (trusted.length === 0) return false;
  let check = trustChecks.get(trusted);
  if (!check) trustChecks.set(trusted, (check = trustCheck(trusted)));
  if (!check(normalize(req.socket.remoteAddress ?? ''))) return false;
  const proto = String(req.headers['x-forwarded-proto'] ?? '').split(',')[0]!.trim().toLowerCase();
  return proto === 'https';
}

/** Whether a peer address is one of the trusted proxies (BASTION_TRUST_PROXY). */
export function trustCheck(trusted: string[]): (ip: string) => boolean {
  const list = new BlockList();
  for (const entry of trusted) {
    const [addr, bits] = entry.split('/') as [string, string | undefined];
    const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr, family);
    else list.addSubnet(addr, Number(bits), family);
  }
  return (ip) => {
    const plain = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
    const fam = isIP(plain);
    return fam !== 0 && list.check(plain, fam === 6 ? 'ipv6' : 'ipv4');
  };
}

function normalize(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}
