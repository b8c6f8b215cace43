// Segment comparison: the wire objects are plain data, compared field by field in order.
import type { Segment } from '../protocol/index.js';

export function sameSegment(a: Segment | undefined, b: Segment): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}
