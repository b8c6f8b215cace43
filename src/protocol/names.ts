// Names the controller hands to agents and agents hand to the kernel: network namespace names
// (files under /run/netns) and interface names. The controller refuses at write time what an
// agent or the kernel would refuse later, so both sides use these rules. Pure, no imports.

/** Linux IFNAMSIZ is 16 bytes with the terminating NUL. */
export const INTERFACE_NAME_MAX_BYTES = 15;
export const NETNS_NAME_MAX = 64;

// The kernel's dev_valid_name: not empty, under IFNAMSIZ, not "." or "..", no "/", ":" or
// whitespace. NUL and other control characters would cut or garble the name on the way there.
const UTF8 = new TextEncoder();
const IFNAME_FORBIDDEN = /[\s/:\x00-\x1f\x7f]/;

/** Why the kernel would refuse `name` as an interface name, or undefined when it would not. */
export function interfaceNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (UTF8.encode(name).length > INTERFACE_NAME_MAX_BYTES) return `must be at most ${INTERFACE_NAME_MAX_BYTES} bytes`;
  if (name === '.' || name === '..') return `"${name}" is not a valid interface name`;
  if (IFNAME_FORBIDDEN.test(name)) return 'must not contain "/", ":", whitespace or control characters';
  return undefined;
}

// A namespace name is a file name under /run/netns: keep to a portable set so it can neither
// leave that directory nor need quoting.
export const NETNS_NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/** Why an agent refuses `name` as a network namespace name, or undefined when it accepts it. */
export function netnsNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > NETNS_NAME_MAX) return `must be at most ${NETNS_NAME_MAX} characters`;
  if (name === '.' || name === '..') return `"${name}" is not a valid namespace name`;
  if (!NETNS_NAME_RE.test(name)) return 'may contain only letters, digits, "_", "." and "-"';
  return undefined;
}
