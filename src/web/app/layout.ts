// Positions computed by us, not by a force layout: sites side by side, each a square grid of
// hosts, endpoints on a small ring around their host, planes above and networks below. It is
// O(elements), stable (a host keeps its slot as others join) and never freezes the page at
// 500 hosts, where a force-directed layout would.

export const HOST_GAP = 90;
const SITE_GAP = 160;
const ROW = 80;

export interface Point {
  x: number;
  y: number;
}

export class GridLayout {
  /** Per site: slot of each host, in order of first appearance. */
  private readonly slots = new Map<string, Map<string, number>>();
  private readonly siteOrder: string[] = [];

  private slot(site: string, host: string): number {
    let s = this.slots.get(site);
    if (!s) {
      s = new Map();
      this.slots.set(site, s);
      this.siteOrder.push(site);
      this.siteOrder.sort();
    }
    let i = s.get(host);
    if (i === undefined) {
      i = s.size;
      s.set(host, i);
    }
    return i;
  }

  /** Columns of a site's grid: a square, so a site of n hosts is about √n wide. */
  private columns(site: string): number {
    return Math.max(1, Math.ceil(Math.sqrt(this.slots.get(site)?.size ?? 1)));
  }

  private siteX(site: string): number {
    let x = 0;
    for (const s of this.siteOrder) {
      if (s === site) return x;
      x += this.columns(s) * HOST_GAP + SITE_GAP;
    }
    return x;
  }

  /** Width of everything laid out so far. */
  width(): number {
    return Math.max(HOST_GAP, this.siteX('\uffff') - SITE_GAP);
  }

  height(): number {
    let rows = 1;
    for (const s of this.siteOrder) rows = Math.max(rows, Math.ceil((this.slots.get(s)?.size ?? 0) / this.columns(s)));
    return rows * HOST_GAP;
  }

  host(site: string, host: string): Point {
    const i = this.slot(site, host);
    const cols = this.columns(site);
    // Every other site sits half a row lower, so links between sites do not run along a row.
    const dy = (this.siteOrder.indexOf(site) % 2) * (HOST_GAP / 2);
    return { x: this.siteX(site) + (i % cols) * HOST_GAP, y: Math.floor(i / cols) * HOST_GAP + dy };
  }

  /** The k-th endpoint of a host, on a ring of radius 24 around it. */
  endpoint(hostAt: Point, k: number): Point {
    const angle = (k * 2 * Math.PI) / 8 + (Math.floor(k / 8) * Math.PI) / 8;
    const r = 24 + Math.floor(k / 8) * 8;
    return { x: hostAt.x + r * Math.cos(angle), y: hostAt.y + r * Math.sin(angle) };
  }

  plane(i: number): Point {
    return { x: i * 160, y: -2 * ROW };
  }

  network(i: number): Point {
    const perRow = Math.max(4, Math.floor(this.width() / 140));
    return { x: (i % perRow) * 140, y: this.height() + ROW + Math.floor(i / perRow) * 50 };
  }

  /** Whether a site's grid changed width: its hosts (and the sites after it) must move. */
  reflowNeeded(site: string, before: number): boolean {
    return this.columns(site) !== before;
  }

  columnsOf(site: string): number {
    return this.columns(site);
  }
}

/** A stable colour per name (networks, tenants). */
export function hue(name: string): string {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return `hsl(${h % 360}, 65%, 45%)`;
}
