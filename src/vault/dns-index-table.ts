import { compareCodeUnits } from '../shared/index.js';
import { normalizeAddress } from './dns-index-address.js';

/**
 * The data of a DNS-name index, without any I/O: each listed PMP resource
 * (ID → name and DNS NAME as PMP wrote it) and the resources under each
 * normalised address. Kept small for 10,000 resources: one entry object per
 * resource, and the address map holds an ID string, or an array only for
 * the rare duplicate.
 */

/** A resource as the index knows it. */
export interface IndexedResource {
  id: string;
  name: string;
  /** DNS NAME as PMP wrote it; null when PMP has none; undefined until fetched. */
  dnsName: string | null | undefined;
}

export interface AddressEntry {
  /** The normalised address. */
  address: string;
  /** Resource IDs filed under it, in ascending numeric order. */
  ids: string[];
}

interface Entry {
  name: string;
  dnsName: string | null | undefined;
}

export class DnsIndexTable {
  private readonly entries = new Map<string, Entry>();
  private readonly byAddress = new Map<string, string | string[]>();

  get size(): number {
    return this.entries.size;
  }

  /** Distinct normalised addresses. */
  get addressCount(): number {
    return this.byAddress.size;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  name(id: string): string | undefined {
    return this.entries.get(id)?.name;
  }

  /** True once the resource's DNS NAME has been read (or PMP had none). */
  isFetched(id: string): boolean {
    const e = this.entries.get(id);
    return e !== undefined && e.dnsName !== undefined;
  }

  /** Adds a listed resource (DNS NAME not known yet) or renames a known one; true when it is new. */
  list(id: string, name: string): boolean {
    const e = this.entries.get(id);
    if (e) {
      e.name = name;
      return false;
    }
    this.entries.set(id, { name, dnsName: undefined });
    return true;
  }

  /**
   * Records a resource's DNS NAME (null or '' for none). Returns the
   * normalised addresses whose resources changed (the old one and the new
   * one), so the caller can wake lookups and forget logged duplicates.
   */
  setDnsName(id: string, dnsName: string | null): string[] {
    const e = this.entries.get(id);
    if (!e) return [];
    const value = dnsName === null || dnsName.trim() === '' ? null : dnsName;
    const before = e.dnsName ? normalizeAddress(e.dnsName) : undefined;
    const after = value === null ? undefined : normalizeAddress(value);
    e.dnsName = value;
    if (before === after) return [];
    const changed: string[] = [];
    if (before !== undefined) {
      this.unfile(before, id);
      changed.push(before);
    }
    if (after !== undefined) {
      this.file(after, id);
      changed.push(after);
    }
    return changed;
  }

  /** Forgets a resource; returns the address it was filed under, if any. */
  remove(id: string): string | undefined {
    const e = this.entries.get(id);
    if (!e) return undefined;
    this.entries.delete(id);
    const address = e.dnsName ? normalizeAddress(e.dnsName) : undefined;
    if (address !== undefined) this.unfile(address, id);
    return address;
  }

  /** The IDs filed under a normalised address: one ID, several, or undefined. */
  find(address: string): string | readonly string[] | undefined {
    return this.byAddress.get(address);
  }

  /** IDs of every resource, in insertion order. */
  ids(): IterableIterator<string> {
    return this.entries.keys();
  }

  /**
   * IDs of resources whose NAME is the address (normalised the same way),
   * then of those whose NAME is the first label of a host name: the
   * likeliest owners of that DNS NAME, to read first.
   */
  candidates(address: string): string[] {
    const label = address.includes(':') ? address : address.split('.')[0]!;
    const exact: string[] = [];
    const short: string[] = [];
    for (const [id, e] of this.entries) {
      const name = normalizeAddress(e.name);
      if (name === address) exact.push(id);
      else if (name === label) short.push(id);
    }
    return [...exact, ...short];
  }

  resources(): IndexedResource[] {
    return [...this.entries].map(([id, e]) => ({ id, name: e.name, dnsName: e.dnsName }));
  }

  /** Every normalised address with its resources, sorted by address. */
  addresses(): AddressEntry[] {
    return [...this.byAddress]
      .map(([address, ids]) => ({ address, ids: typeof ids === 'string' ? [ids] : [...ids] }))
      .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  }

  /** The addresses filed under more than one resource. */
  duplicates(): AddressEntry[] {
    return this.addresses().filter((a) => a.ids.length > 1);
  }

  private file(address: string, id: string): void {
    const had = this.byAddress.get(address);
    if (had === undefined) this.byAddress.set(address, id);
    else this.byAddress.set(address, sortIds(typeof had === 'string' ? [had, id] : [...had, id]));
  }

  private unfile(address: string, id: string): void {
    const had = this.byAddress.get(address);
    if (had === undefined) return;
    if (typeof had === 'string') {
      if (had === id) this.byAddress.delete(address);
      return;
    }
    const rest = had.filter((x) => x !== id);
    this.byAddress.set(address, rest.length === 1 ? rest[0]! : rest);
  }
}

function sortIds(ids: string[]): string[] {
  return ids.sort((a, b) => a.length - b.length || compareCodeUnits(a, b));
}
