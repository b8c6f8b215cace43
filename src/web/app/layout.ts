// Positions computed by us, not by a force layout: sites side by side, each a square grid of
// hosts, a host's endpoints as a small pie under it. It is O(elements), stable (a host keeps
// its slot as others join) and never freezes the page at 500 hosts, where a force-directed
// layout would. A grid cell is wider than the widest host label, and a host's label is drawn
// inside its box, so host labels never overlap each other and links (drawn under nodes) never
// cross them. Planes and networks are not positioned: they are the legend, not nodes.

/** Smallest grid cell; a cell widens to fit the longest host name of the fabric. */
export const HOST_GAP = 110;
const ROW_GAP = 96;
const SITE_GAP = 140;
/** A host's box: label width plus padding, this tall. */
export const HOST_HEIGHT = 22;
const HOST_PADDING = 16;
/** Diameter of a host's endpoint pie. */
export const BADGE = 12;

export interface Point {
  x: number;
  y: number;
}

export class GridLayout {
  /** Per site: slot of each host, in order of first appearance. */
  private readonly slots = new Map<string, Map<string, number>>();
  private readonly siteOrder: string[] = [];
  /** Horizontal distance between hosts: set from the widest host box before placing. */
  cell = HOST_GAP;

  /** Makes room for host boxes up to `widest` units wide. */
  fit(widest: number): void {
    this.cell = Math.max(HOST_GAP, Math.ceil(widest) + 40);
  }

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
      x += this.columns(s) * this.cell + SITE_GAP;
    }
    return x;
  }

  host(site: string, host: string): Point {
    const i = this.slot(site, host);
    const cols = this.columns(site);
    // Every other site sits half a row lower, so links between sites do not run along a row.
    const dy = (this.siteOrder.indexOf(site) % 2) * (ROW_GAP / 2);
    return { x: this.siteX(site) + (i % cols) * this.cell, y: Math.floor(i / cols) * ROW_GAP + dy };
  }

  /** A host's endpoint pie: just under its box. */
  badge(hostAt: Point): Point {
    return { x: hostAt.x, y: hostAt.y + HOST_HEIGHT / 2 + 4 + BADGE / 2 };
  }
}

/** Width of a host's box for a label `textWidth` units wide. */
export const hostWidth = (textWidth: number): number => Math.max(40, Math.ceil(textWidth) + HOST_PADDING);

// Colours. Host and path states use green (ready, up), yellow (draining), red (unreachable,
// down) and grey (unknown, joining); networks and planes must never be mistaken for those, so
// they take blues, slate and brown (planes) and violets to magentas (networks) only.
export const STATE_COLOURS = {
  ready: '#3ebd93',
  draining: '#f7c948',
  down: '#e12d39',
  unknown: '#9aa5b1',
} as const;

/** Planes in order: a link's colour says its plane; its line style says its health. */
const PLANE_COLOURS = ['#1d4ed8', '#243b53', '#8d5524', '#0e7490', '#4338ca', '#7b8794'];

export function planeColour(index: number): string {
  return PLANE_COLOURS[((index % PLANE_COLOURS.length) + PLANE_COLOURS.length) % PLANE_COLOURS.length]!;
}

/**
 * A stable colour per network name, from hues 265-335 (violet to magenta: no green, yellow,
 * orange or red, and none of the planes' blue, slate or brown) at two lightnesses, so it is
 * never read as a state or a plane.
 */
export function networkColour(name: string): string {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  const hue = 265 + (h % 71);
  const light = (h >>> 8) % 2 ? 38 : 52;
  return `hsl(${hue}, 70%, ${light}%)`;
}
