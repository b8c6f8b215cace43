// What the compiler could not do as intended, for status and for operators. Problems never stop
// a compile: the rest of the network and the rest of the fabric are still programmed.
export interface Problem {
  /** "tenant/network". */
  network: string;
  /** The host the problem is on, when it is about one host. */
  host?: string;
  message: string;
}
