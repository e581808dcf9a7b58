/**
 * My Number as a keyed MAC only (privacy-design.md §2.1): HMAC-SHA256 under the registry
 * secret over a versioned, domain-separated input. An unkeyed hash of a 10^11 space falls to
 * brute force in minutes; without the key, the MAC reveals nothing. The version prefix lets a
 * later key or scheme coexist during a rotation.
 */
import crypto from 'node:crypto';

export const MY_NUMBER_MAC_VERSION = 1;

/**
 * HMAC-SHA256 under a key derived from the registry secret for one purpose alone (`purpose`, the
 * HKDF info), over `<domain>/v<version>|<value>`: two purposes never share a MAC space, and the
 * version lets a later key or scheme coexist during a rotation.
 */
export class PurposeMac {
  private readonly key: Buffer;
  private readonly prefix: string;
  /** Stored beside each MAC, so a later key or scheme can coexist during a rotation. */
  readonly version: number;

  constructor(secret: Buffer, purpose: string, domain: string, version: number) {
    this.key = Buffer.from(crypto.hkdfSync('sha256', secret, Buffer.alloc(0), purpose, 32));
    this.prefix = `${domain}/v${version}|`;
    this.version = version;
  }

  mac(value: string): Buffer {
    return crypto.createHmac('sha256', this.key).update(`${this.prefix}${value}`).digest();
  }

  hex(value: string): string {
    return this.mac(value).toString('hex');
  }
}

/** The MAC of 12 validated My Number digits. */
export class MyNumberMac extends PurposeMac {
  constructor(secret: Buffer) {
    // A key derived for this purpose alone, so the registry secret can serve other MACs later.
    super(secret, 'medid/mn-mac', 'medid/mn', MY_NUMBER_MAC_VERSION);
  }
}

/** A keyed MAC as its users see it: the operation and the version stored beside each output. */
export interface KeyedMac {
  readonly version: number;
  mac(value: string): Buffer;
  hex(value: string): string;
}

/** One HMAC-SHA256 under a key-store key (core/keys: a file, or a PKCS#11 HSM's generic secret). */
export interface MacStep {
  readonly version: number;
  hmac(data: Uint8Array): Buffer;
}

/**
 * A purpose MAC whose key is a key store's key itself (PKCS#11: `CKM_SHA256_HMAC` per value,
 * the key never leaves the HSM): HMAC(K, "<domain>/v<version>|" + value). Given K = the file
 * back end's HKDF-derived key (a ceremony imports it), it equals PurposeMac bit for bit.
 */
export class StoreMac implements KeyedMac {
  readonly version: number;
  private readonly step: MacStep;
  private readonly prefix: string;

  constructor(step: MacStep, domain: string) {
    this.step = step;
    this.version = step.version;
    this.prefix = `${domain}/v${step.version}|`;
  }

  mac(value: string): Buffer {
    return this.step.hmac(Buffer.from(`${this.prefix}${value}`));
  }

  hex(value: string): string {
    return this.mac(value).toString('hex');
  }
}

/**
 * The My Number MAC after rotations (privacy-design.md §2.1): version v ≥ 2 stores
 * h_v = HMAC(K_v, "medid/mn/v<v>|" ‖ h_{v−1}), so a rotation rewrites every stored MAC from the
 * stored MAC alone — no My Number in the clear is ever needed — and a lookup computes every step.
 * A leaked K_1 (or the registry secret it derives from) is then useless unless K_2 leaks too:
 * with K_2 in an HSM, the MACs in the database name nobody.
 */
export class ChainedMac implements KeyedMac {
  readonly version: number;
  private readonly base: KeyedMac;
  private readonly steps: readonly MacStep[];
  private readonly domain: string;

  constructor(base: KeyedMac, steps: readonly MacStep[], domain = 'medid/mn') {
    let v = base.version;
    for (const s of steps) {
      if (s.version !== v + 1) throw new RangeError(`the MAC chain goes from v${v} to v${s.version}: each step is the next version`);
      v = s.version;
    }
    this.base = base;
    this.steps = steps;
    this.domain = domain;
    this.version = v;
  }

  /** One link: what version `step.version` stores, given what the version before stored. */
  static link(step: MacStep, previous: Uint8Array, domain = 'medid/mn'): Buffer {
    return step.hmac(Buffer.concat([Buffer.from(`${domain}/v${step.version}|`), previous]));
  }

  mac(value: string): Buffer {
    let h = this.base.mac(value);
    for (const s of this.steps) h = ChainedMac.link(s, h, this.domain);
    return h;
  }

  hex(value: string): string {
    return this.mac(value).toString('hex');
  }
}
