/*
 * weft-probe: the agent's path probe engine. ICMP echo over raw IPv4 and ICMPv6 sockets,
 * receive times from the kernel (SO_TIMESTAMPNS), its own schedule, in a process of its own so
 * the agent's event loop (flushes, dumps, GC) cannot delay a probe or date a reply late. The
 * agent's side is agents/paths/engine/engine.ts; the protocol is line based:
 *
 *   stdin   add ID SRC DST RATE   probe DST from local address SRC, RATE probes per second
 *                                 (SRC and DST both IPv4 or both IPv6)
 *           shift ID USEC         move path ID's send schedule by USEC microseconds (signed;
 *                                 at most a quarter interval), to align its phase with the
 *                                 peer's (agents/paths/phase.ts decides)
 *           del ID | mtu ID SIZE | hello | quit
 *   stdout  S ID SEQ TX_NS            sent
 *           K ID N                    N send slots skipped: the engine itself was late
 *           R ID SEQ TX_NS RX_NS      echo reply, RX_NS from the kernel
 *           Q ID RX_NS                the path's peer sent us an echo request (its own probe)
 *           M ID SIZE ok|big|lost MTU don't-fragment probe of SIZE bytes; MTU named by an ICMP
 *                                     "fragmentation needed" or ICMPv6 "packet too big" (0 when
 *                                     none was named)
 *           T NOW_NS                  every reply received before NOW_NS is written above
 *           D N                       N lines dropped because the agent did not read (periodic)
 *           H ok | H err ERRNO        answer to hello: can we open a raw ICMP socket
 *           E ID REASON               the add or mtu for ID was refused
 *   stderr  malformed input and other diagnostics; ignored lines never stop the engine.
 *
 * Times are CLOCK_REALTIME in ns (the clock SO_TIMESTAMPNS uses); the schedule runs on
 * CLOCK_MONOTONIC so a clock step does not burst or stall sends.
 *
 * Scheduling priority: nice -10 (setpriority), when allowed (root or CAP_SYS_NICE). That is
 * enough to be run ahead of the agent (nice 0) and ordinary load on a busy host, without the
 * risk a real-time class carries: a bug that spins under SCHED_RR would starve the host's own
 * housekeeping, a spinning nice -10 process cannot. Without the privilege it stays at 0 and says
 * so on stderr.
 *
 * Raw sockets: one per local address, bound to it, with an ICMP filter passing echo replies,
 * echo requests (the peer's probes; the kernel still answers them itself: a raw socket gets a
 * copy) and "destination unreachable" (fragmentation needed; for ICMPv6, "packet too big").
 * IP_PMTUDISC_PROBE sets DF and ignores a cached path MTU, so a repaired path is seen repaired at
 * once; for IPv6, IPV6_PMTUDISC_PROBE does the same and IPV6_DONTFRAG stops the kernel from
 * fragmenting at the source. The two families differ only in `struct family` and the few
 * functions that read it (headers, socket options, the error's inner packet); the kernel computes
 * ICMPv6 checksums itself. Link-local, multicast, unspecified and v4-mapped IPv6 addresses are
 * refused (a link-local address would need a scope the protocol does not carry).
 *
 * Bounds: MAX_PATHS paths, MAX_SOCKS local addresses, input lines of MAX_LINE bytes (longer ones
 * are dropped whole), an output buffer of OUT_CAP bytes. When the agent does not read (it is
 * starved), the engine holds back rather than lose evidence: above OUT_HIGH buffered bytes it
 * sends no probes (the slots are reported skipped in a K line before the next S: no evidence
 * either way, never a loss), and drops T and Q lines; the room above OUT_HIGH is for the replies
 * to probes already sent. Anything else is dropped only when the buffer is full. After any line
 * but a T was dropped no T is written for 2 s (a T must not vouch for a reply that was dropped).
 * Drops are counted and reported in a D line at most once a second.
 *
 * Build: cc -O2 -Wall -Wextra -o weft-probe weft-probe.c  (bin/ensure-deps.sh does it)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define MAX_PATHS 16384
#define MAX_SOCKS 256
#define MAX_LINE 256
#define OUT_CAP (4 << 20)
#define OUT_HIGH (1 << 20)
#define RCVBUF (8 << 20)
#define HASH_SIZE (MAX_PATHS * 2) /* open addressing, load <= 0.5 */
#define MAGIC 0x57505245u         /* "WPRE" */
#define MAGIC_MTU 0x5750524du     /* "WPRM" */
#define PAYLOAD 28                /* magic, slot, id, seq, tx_ns (8), nonce */
#define MTU_TIMEOUT_NS 1000000000LL
#define MAX_DRAIN 4096            /* packets per socket per wake-up before the schedule runs again */
#define T_EVERY_NS 1000000LL      /* at most one T per ms */
#define IDLE_WAKE_NS 10000000LL   /* a T at least every 10 ms */
/* Wake-ups are what costs (a poll, reads, a write each): sends due within SEND_SLACK_NS go out
   together (a little early; each carries its real send time), and sockets are read at most once
   per READ_EVERY_NS. Kernel timestamps make the read's own delay harmless; it only delays T. */
#define SEND_SLACK_NS 1000000LL
#define READ_EVERY_NS 1000000LL

typedef int64_t ns_t;

/* An address of either family, network order; an IPv4 address fills the first 4 bytes, the rest
   stay zero, so two addresses compare with memcmp. */
struct addr {
  int family; /* AF_INET or AF_INET6 */
  uint8_t b[16];
};

/* Everything that differs between ICMP over IPv4 and ICMPv6, read by the few functions below
   that need it; the rest of the engine is written once. */
struct family {
  int af, proto;
  size_t ip_header;   /* in front of the ICMP message we send: SIZE minus this is what we write */
  uint8_t echo_request, echo_reply;
  uint32_t min_probe; /* smallest don't-fragment probe (IPv6: every link carries 1280) */
};

static const struct family FAMILY4 = {AF_INET, IPPROTO_ICMP, 20, ICMP_ECHO, ICMP_ECHOREPLY, 68};
static const struct family FAMILY6 = {AF_INET6, IPPROTO_ICMPV6, 40, ICMP6_ECHO_REQUEST, ICMP6_ECHO_REPLY, 1280};

static const struct family *family_of(const struct addr *a) { return a->family == AF_INET6 ? &FAMILY6 : &FAMILY4; }

struct sock {
  int fd;
  struct addr addr;
  int refs;
};

struct path {
  int used;
  uint32_t id;
  int sock;       /* index into socks */
  struct addr dst;
  ns_t interval;  /* ns */
  ns_t next;      /* monotonic ns of the next send slot */
  uint32_t seq;   /* sends so far */
  uint32_t held;  /* slots not sent because the agent was not reading, to report in a K line */
  int heap;       /* position in the heap, -1 when not queued */
  /* one don't-fragment probe at a time */
  int mtu_size;
  uint16_t mtu_seq;
  ns_t mtu_deadline; /* monotonic; 0 when none pending */
};

static struct path paths[MAX_PATHS];
static struct sock socks[MAX_SOCKS];
static int nsocks;
static int heap[MAX_PATHS];
static int heap_n;
static int32_t hash_pair[HASH_SIZE]; /* (src, dst) -> slot, for Q; -1 empty, -2 deleted */
static uint16_t echo_id;
static uint32_t nonce;
static uint16_t mtu_seq_next = 1;
static int mtu_pending;

static char out[OUT_CAP];
static size_t out_len;
static uint64_t dropped;
static ns_t no_t_until;
static ns_t last_d_report;
static ns_t last_t;
static ns_t last_read;

static ns_t mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (ns_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static ns_t real_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (ns_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void warn(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("weft-probe: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* ---- output ---- */

/* droppable: T and Q lines, which give way first (above OUT_HIGH) when the agent falls behind. */
static void emit(int droppable, const char *fmt, ...) {
  char line[160];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n <= 0 || (size_t)n >= sizeof line) return;
  size_t limit = droppable ? OUT_HIGH : OUT_CAP;
  if (out_len + (size_t)n > limit) {
    dropped++;
    if (line[0] != 'T') no_t_until = mono_now() + 2000000000LL;
    return;
  }
  memcpy(out + out_len, line, (size_t)n);
  out_len += (size_t)n;
}

static void flush_out(void);

/* Leaves with everything written: blocking again, so the last lines are not lost to EAGAIN. */
static void finish(int code) {
  fcntl(STDOUT_FILENO, F_SETFL, fcntl(STDOUT_FILENO, F_GETFL) & ~O_NONBLOCK);
  flush_out();
  exit(code);
}

static void flush_out(void) {
  while (out_len > 0) {
    ssize_t w = write(STDOUT_FILENO, out, out_len);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      exit(0); /* the agent is gone */
    }
    memmove(out, out + w, out_len - (size_t)w);
    out_len -= (size_t)w;
  }
}

/* ---- the schedule: a min-heap of path slots by next send time ---- */

static int heap_less(int a, int b) { return paths[heap[a]].next < paths[heap[b]].next; }

static void heap_swap(int a, int b) {
  int t = heap[a];
  heap[a] = heap[b];
  heap[b] = t;
  paths[heap[a]].heap = a;
  paths[heap[b]].heap = b;
}

static void heap_up(int i) {
  while (i > 0 && heap_less(i, (i - 1) / 2)) {
    heap_swap(i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
}

static void heap_down(int i) {
  for (;;) {
    int l = 2 * i + 1, r = l + 1, m = i;
    if (l < heap_n && heap_less(l, m)) m = l;
    if (r < heap_n && heap_less(r, m)) m = r;
    if (m == i) return;
    heap_swap(i, m);
    i = m;
  }
}

static void heap_push(int slot) {
  heap[heap_n] = slot;
  paths[slot].heap = heap_n;
  heap_up(heap_n++);
}

static void heap_remove(int slot) {
  int i = paths[slot].heap;
  if (i < 0) return;
  paths[slot].heap = -1;
  heap_n--;
  if (i == heap_n) return;
  heap[i] = heap[heap_n];
  paths[heap[i]].heap = i;
  heap_up(i);
  heap_down(paths[heap[i]].heap);
}

/* ---- (src, dst) -> slot, to find the path of a peer's echo request ---- */

static int addr_eq(const struct addr *a, const struct addr *b) { return a->family == b->family && memcmp(a->b, b->b, sizeof a->b) == 0; }

static uint32_t pair_hash(const struct addr *src, const struct addr *dst) {
  uint64_t k = 0xcbf29ce484222325ULL; /* FNV-1a over both addresses, then a final mix */
  for (size_t i = 0; i < sizeof src->b; i++) k = (k ^ src->b[i]) * 0x100000001b3ULL;
  for (size_t i = 0; i < sizeof dst->b; i++) k = (k ^ dst->b[i]) * 0x100000001b3ULL;
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  return (uint32_t)(k % HASH_SIZE);
}

static int pair_find(const struct addr *src, const struct addr *dst) {
  for (uint32_t h = pair_hash(src, dst), i = 0; i < HASH_SIZE; i++, h = (h + 1) % HASH_SIZE) {
    int32_t s = hash_pair[h];
    if (s == -1) return -1;
    if (s >= 0 && addr_eq(&socks[paths[s].sock].addr, src) && addr_eq(&paths[s].dst, dst)) return s;
  }
  return -1;
}

static void pair_add(int slot) {
  struct path *p = &paths[slot];
  if (pair_find(&socks[p->sock].addr, &p->dst) >= 0) return; /* the first path of a pair gets its Q */
  for (uint32_t h = pair_hash(&socks[p->sock].addr, &p->dst);; h = (h + 1) % HASH_SIZE) {
    if (hash_pair[h] < 0) {
      hash_pair[h] = slot;
      return;
    }
  }
}

static void pair_del(int slot) {
  struct path *p = &paths[slot];
  for (uint32_t h = pair_hash(&socks[p->sock].addr, &p->dst), i = 0; i < HASH_SIZE; i++, h = (h + 1) % HASH_SIZE) {
    if (hash_pair[h] == -1) return;
    if (hash_pair[h] == slot) {
      hash_pair[h] = -2;
      return;
    }
  }
}

/* ---- sockets ---- */

static socklen_t to_sockaddr(const struct addr *a, uint16_t port, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof *ss);
  if (a->family == AF_INET6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    memcpy(&s6->sin6_addr, a->b, 16);
    return sizeof *s6;
  }
  struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
  s4->sin_family = AF_INET;
  s4->sin_port = htons(port);
  memcpy(&s4->sin_addr, a->b, 4);
  return sizeof *s4;
}

static int from_sockaddr(const struct sockaddr_storage *ss, struct addr *a) {
  memset(a, 0, sizeof *a);
  a->family = ss->ss_family;
  if (ss->ss_family == AF_INET6) memcpy(a->b, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
  else if (ss->ss_family == AF_INET) memcpy(a->b, &((const struct sockaddr_in *)ss)->sin_addr, 4);
  else return 0;
  return 1;
}

/* DF on every packet, a cached path MTU ignored, and only the ICMP types we read let through. */
static int family_sockopts(int fd, int af) {
  if (af == AF_INET6) {
    int pmtu = IPV6_PMTUDISC_PROBE, one = 1;
    struct icmp6_filter filt;
    ICMP6_FILTER_SETBLOCKALL(&filt);
    ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filt);
    ICMP6_FILTER_SETPASS(ICMP6_ECHO_REQUEST, &filt);
    ICMP6_FILTER_SETPASS(ICMP6_PACKET_TOO_BIG, &filt);
    return setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu, sizeof pmtu) < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_DONTFRAG, &one, sizeof one) < 0 ||
                   setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filt, sizeof filt) < 0
               ? -1
               : 0;
  }
  int pmtu = IP_PMTUDISC_PROBE;
  struct icmp_filter filt = {.data = ~((1u << ICMP_ECHOREPLY) | (1u << ICMP_ECHO) | (1u << ICMP_DEST_UNREACH))};
  return setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu) < 0 || setsockopt(fd, SOL_RAW, ICMP_FILTER, &filt, sizeof filt) < 0 ? -1 : 0;
}

static int open_raw(const struct addr *addr, int *err) {
  const struct family *fm = family_of(addr);
  int fd = socket(fm->af, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, fm->proto);
  if (fd < 0) {
    *err = errno;
    return -1;
  }
  struct sockaddr_storage sa;
  socklen_t sa_len = to_sockaddr(addr, 0, &sa);
  int one = 1;
  if (bind(fd, (struct sockaddr *)&sa, sa_len) < 0 || setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) < 0 || family_sockopts(fd, fm->af) < 0) {
    *err = errno;
    close(fd);
    return -1;
  }
  /* Room for every reply of a busy second: bursts of replies wait here while a batch of sends
     goes out. FORCE passes rmem_max (root); without it the plain request is capped there. */
  int rcvbuf = RCVBUF;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  return fd;
}

static int sock_get(const struct addr *addr, int *err) {
  int free_i = -1;
  for (int i = 0; i < nsocks; i++) {
    if (socks[i].refs > 0 && addr_eq(&socks[i].addr, addr)) {
      socks[i].refs++;
      return i;
    }
    if (socks[i].refs == 0 && free_i < 0) free_i = i;
  }
  if (free_i < 0) {
    if (nsocks >= MAX_SOCKS) {
      *err = EMFILE;
      return -1;
    }
    free_i = nsocks++;
  }
  int fd = open_raw(addr, err);
  if (fd < 0) return -1;
  socks[free_i] = (struct sock){.fd = fd, .addr = *addr, .refs = 1};
  return free_i;
}

static void sock_put(int i) {
  if (--socks[i].refs > 0) return;
  close(socks[i].fd);
  socks[i].fd = -1;
}

/* ---- ICMP ---- */

static uint16_t checksum(const void *data, size_t len) {
  const uint8_t *b = data;
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += (uint32_t)(b[i] << 8 | b[i + 1]);
  if (len & 1) sum += (uint32_t)b[len - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons((uint16_t)~sum);
}

static void put32(uint8_t *p, uint32_t v) {
  v = htonl(v);
  memcpy(p, &v, 4);
}

static uint32_t get32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return ntohl(v);
}

/* Echo request: header, then magic, slot, id, seq, tx_ns, nonce; zero padding up to len. */
static int send_echo(struct path *p, int slot, uint32_t magic, uint16_t icmp_seq, uint32_t seq, ns_t tx, size_t len) {
  static uint8_t buf[65536];
  const struct family *fm = family_of(&p->dst);
  if (len < 8 + PAYLOAD) len = 8 + PAYLOAD;
  memset(buf, 0, len);
  buf[0] = fm->echo_request;
  uint16_t id = htons(echo_id), sq = htons(icmp_seq);
  memcpy(buf + 4, &id, 2);
  memcpy(buf + 6, &sq, 2);
  put32(buf + 8, magic);
  put32(buf + 12, (uint32_t)slot);
  put32(buf + 16, p->id);
  put32(buf + 20, seq);
  put32(buf + 24, (uint32_t)((uint64_t)tx >> 32));
  put32(buf + 28, (uint32_t)tx);
  put32(buf + 32, nonce);
  if (fm->af == AF_INET) { /* ICMPv6's covers a pseudo-header: the kernel fills it in */
    uint16_t c = checksum(buf, len);
    memcpy(buf + 2, &c, 2);
  }
  struct sockaddr_storage to;
  socklen_t to_len = to_sockaddr(&p->dst, 0, &to);
  ssize_t n = sendto(socks[p->sock].fd, buf, len, 0, (struct sockaddr *)&to, to_len);
  return n < 0 ? errno : 0;
}

static void send_probe(int slot, ns_t mono) {
  struct path *p = &paths[slot];
  if (out_len > OUT_HIGH) {
    p->held++; /* the agent is not reading: a probe now could only lose its answer */
  } else {
    if (p->held > 0) emit(0, "K %u %u\n", p->id, p->held);
    p->held = 0;
    ns_t tx = real_now();
    uint32_t seq = ++p->seq;
    send_echo(p, slot, MAGIC, (uint16_t)seq, seq, tx, 0); /* a failed send is a probe that gets no reply */
    emit(0, "S %u %u %lld\n", p->id, seq, (long long)tx);
  }
  p->next += p->interval;
  if (p->next <= mono) {
    /* More than a slot behind: skip to the next slot ahead, and say so (no evidence either way). */
    ns_t skip = (mono - p->next) / p->interval + 1;
    p->next += skip * p->interval;
    emit(0, "K %u %lld\n", p->id, (long long)skip);
  }
  heap_down(p->heap);
}

static void finish_mtu(struct path *p, const char *what, uint32_t mtu) {
  emit(0, "M %u %d %s %u\n", p->id, p->mtu_size, what, mtu);
  p->mtu_deadline = 0;
  mtu_pending--;
}

/* The packet an ICMP error quotes: its destination and the first 8 bytes of our echo request, or
   NULL when it is not an echo of ours (IPv4 header with options, or IPv6 header and no extension
   headers: we send none). */
static const uint8_t *quoted_echo(const struct family *fm, const uint8_t *inner, size_t len, struct addr *dst) {
  memset(dst, 0, sizeof *dst);
  dst->family = fm->af;
  size_t hlen;
  if (fm->af == AF_INET6) {
    hlen = 40;
    if (len < hlen + 8 || (inner[0] >> 4) != 6 || inner[6] != IPPROTO_ICMPV6) return NULL;
    memcpy(dst->b, inner + 24, 16);
  } else {
    if (len < 20) return NULL;
    hlen = (size_t)(inner[0] & 0x0f) * 4;
    if ((inner[0] >> 4) != 4 || hlen < 20 || len < hlen + 8 || inner[9] != IPPROTO_ICMP) return NULL;
    memcpy(dst->b, inner + 16, 4);
  }
  const uint8_t *echo = inner + hlen;
  uint16_t eid;
  memcpy(&eid, echo + 4, 2);
  return echo[0] == fm->echo_request && ntohs(eid) == echo_id ? echo : NULL;
}

/* An ICMP message on socket si from `src`: an IPv4 raw socket reads the IP header too, an
   ICMPv6 one only the message. */
static void handle_packet(int si, const uint8_t *pkt, size_t len, const struct addr *src, ns_t rx) {
  const struct addr *local = &socks[si].addr;
  const struct family *fm = family_of(local);
  if (src->family != fm->af) return;
  const uint8_t *icmp = pkt;
  size_t ilen = len;
  if (fm->af == AF_INET) {
    if (len < 20) return;
    size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
    if ((pkt[0] >> 4) != 4 || ihl < 20 || len < ihl) return;
    icmp = pkt + ihl;
    ilen = len - ihl;
  }
  if (ilen < 8) return;
  uint16_t id;
  memcpy(&id, icmp + 4, 2);
  if (icmp[0] == fm->echo_request) {
    int slot = pair_find(local, src);
    if (slot >= 0) emit(1, "Q %u %lld\n", paths[slot].id, (long long)rx);
    return;
  }
  if (icmp[0] == fm->echo_reply) {
    if (ntohs(id) != echo_id || ilen < 8 + PAYLOAD) return;
    const uint8_t *d = icmp + 8;
    uint32_t magic = get32(d), slot = get32(d + 4), pid = get32(d + 8), seq = get32(d + 12);
    if (get32(d + 24) != nonce || slot >= MAX_PATHS) return;
    struct path *p = &paths[slot];
    if (!p->used || p->id != pid || !addr_eq(&p->dst, src) || p->sock != si) return;
    if (magic == MAGIC) {
      ns_t tx = (ns_t)(((uint64_t)get32(d + 16) << 32) | get32(d + 20));
      emit(0, "R %u %u %lld %lld\n", pid, seq, (long long)tx, (long long)rx);
    } else if (magic == MAGIC_MTU && p->mtu_deadline != 0 && seq == p->mtu_seq) {
      finish_mtu(p, "ok", (uint32_t)p->mtu_size);
    }
    return;
  }
  /* Too big: IPv4 "fragmentation needed" (a 16-bit MTU at 6), ICMPv6 "packet too big" (32 bits
     at 4); the offending packet follows the 8-byte header. */
  uint32_t mtu;
  if (fm->af == AF_INET && icmp[0] == ICMP_DEST_UNREACH && icmp[1] == ICMP_FRAG_NEEDED) {
    uint16_t m;
    memcpy(&m, icmp + 6, 2);
    mtu = ntohs(m);
  } else if (fm->af == AF_INET6 && icmp[0] == ICMP6_PACKET_TOO_BIG && icmp[1] == 0) {
    mtu = get32(icmp + 4);
  } else {
    return;
  }
  struct addr idst;
  const uint8_t *echo = quoted_echo(fm, icmp + 8, ilen - 8, &idst);
  if (echo == NULL || pair_find(local, &idst) < 0) return;
  uint16_t eseq;
  memcpy(&eseq, echo + 6, 2);
  /* pair_find says some path of the pair exists; any of them may have the probe pending. */
  for (int s = 0; s < MAX_PATHS && mtu_pending > 0; s++) {
    struct path *p = &paths[s];
    if (p->used && p->mtu_deadline != 0 && p->sock == si && addr_eq(&p->dst, &idst) && p->mtu_seq == ntohs(eseq)) {
      finish_mtu(p, "big", mtu);
      return;
    }
  }
}

/* Reads everything waiting; returns 0 when a socket still had more (no T may be written). */
static int drain(int si) {
  uint8_t buf[2048];
  char ctrl[256];
  for (int k = 0; k < MAX_DRAIN; k++) {
    struct sockaddr_storage from;
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
    struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl, .msg_controllen = sizeof ctrl};
    ssize_t n = recvmsg(socks[si].fd, &msg, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return 1; /* EAGAIN: drained */
    ns_t rx = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        struct timespec ts;
        memcpy(&ts, CMSG_DATA(c), sizeof ts);
        rx = (ns_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
      }
    }
    if (rx == 0) rx = real_now();
    struct addr src;
    if (from_sockaddr(&from, &src)) handle_packet(si, buf, (size_t)n, &src, rx);
  }
  return 0;
}

/* ---- commands ---- */

static int parse_u32(const char *s, uint32_t *v) {
  if (s == NULL || *s == '\0' || strlen(s) > 10) return 0;
  uint64_t x = 0;
  for (const char *c = s; *c; c++) {
    if (*c < '0' || *c > '9') return 0;
    x = x * 10 + (uint64_t)(*c - '0');
  }
  if (x > UINT32_MAX) return 0;
  *v = (uint32_t)x;
  return 1;
}

static int find_slot(uint32_t id) {
  for (int i = 0; i < MAX_PATHS; i++)
    if (paths[i].used && paths[i].id == id) return i;
  return -1;
}

/* An IPv4 or IPv6 address in text (IPv6 when it has a colon). */
static int parse_addr(const char *s, struct addr *a) {
  memset(a, 0, sizeof *a);
  a->family = strchr(s, ':') != NULL ? AF_INET6 : AF_INET;
  return inet_pton(a->family, s, a->b) == 1;
}

/* IPv6 addresses a path cannot be probed between: link-local needs a scope (an interface) the
   protocol does not carry; multicast and unspecified are no peer; v4-mapped is IPv4 in disguise. */
static int unusable6(const struct addr *a) {
  const struct in6_addr *x = (const struct in6_addr *)a->b;
  return a->family == AF_INET6 && (IN6_IS_ADDR_LINKLOCAL(x) || IN6_IS_ADDR_MULTICAST(x) || IN6_IS_ADDR_UNSPECIFIED(x) || IN6_IS_ADDR_V4MAPPED(x));
}

static void cmd_add(char **f, int nf) {
  uint32_t id, rate;
  struct addr src, dst;
  if (nf != 5 || !parse_u32(f[1], &id) || !parse_u32(f[4], &rate)) {
    warn("malformed add (want: add ID SRC DST RATE)");
    return;
  }
  if (!parse_addr(f[2], &src) || !parse_addr(f[3], &dst) || rate < 1 || rate > 1000) {
    emit(0, "E %u bad address or rate\n", id);
    return;
  }
  if (src.family != dst.family) {
    emit(0, "E %u mixed address families (source %s, destination %s)\n", id, src.family == AF_INET6 ? "ipv6" : "ipv4", dst.family == AF_INET6 ? "ipv6" : "ipv4");
    return;
  }
  if (unusable6(&src) || unusable6(&dst)) {
    emit(0, "E %u ipv6 address is link-local, multicast, unspecified or v4-mapped\n", id);
    return;
  }
  if (find_slot(id) >= 0) {
    emit(0, "E %u id in use\n", id);
    return;
  }
  int slot = -1;
  for (int i = 0; i < MAX_PATHS; i++)
    if (!paths[i].used) {
      slot = i;
      break;
    }
  if (slot < 0) {
    emit(0, "E %u too many paths (%d)\n", id, MAX_PATHS);
    return;
  }
  int err = 0, si = sock_get(&src, &err);
  if (si < 0) {
    emit(0, "E %u socket: %s\n", id, strerrorname_np(err) ? strerrorname_np(err) : "error");
    return;
  }
  struct path *p = &paths[slot];
  ns_t interval = 1000000000LL / rate;
  uint32_t r;
  if (getrandom(&r, sizeof r, 0) != sizeof r) r = (uint32_t)mono_now();
  /* A random phase, so paths added together do not send together. */
  *p = (struct path){.used = 1, .id = id, .sock = si, .dst = dst, .interval = interval, .next = mono_now() + (ns_t)(r % (uint64_t)interval), .heap = -1};
  heap_push(slot);
  pair_add(slot);
}

static void cmd_del(char **f, int nf) {
  uint32_t id;
  if (nf != 2 || !parse_u32(f[1], &id)) {
    warn("malformed del (want: del ID)");
    return;
  }
  int slot = find_slot(id);
  if (slot < 0) return; /* already gone: idempotent */
  struct path *p = &paths[slot];
  heap_remove(slot);
  pair_del(slot);
  if (p->mtu_deadline != 0) mtu_pending--;
  sock_put(p->sock);
  p->used = 0;
  /* Another path of the same pair takes over its Q lines. */
  for (int i = 0; i < MAX_PATHS; i++)
    if (paths[i].used && paths[i].sock == p->sock && addr_eq(&paths[i].dst, &p->dst)) {
      pair_add(i);
      break;
    }
}

/* The MTU the kernel uses towards dst from src (the link's, or a smaller cached PMTU); 0 unknown. */
static uint32_t route_mtu(const struct addr *src, const struct addr *dst) {
  int fd = socket(src->family, SOCK_DGRAM | SOCK_CLOEXEC, 0), mtu = 0;
  if (fd < 0) return 0;
  struct sockaddr_storage a, b;
  socklen_t a_len = to_sockaddr(src, 0, &a), b_len = to_sockaddr(dst, 9, &b), len = sizeof mtu;
  int v6 = src->family == AF_INET6;
  if (bind(fd, (struct sockaddr *)&a, a_len) != 0 || connect(fd, (struct sockaddr *)&b, b_len) != 0 ||
      getsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU : IP_MTU, &mtu, &len) != 0 || mtu < 0)
    mtu = 0;
  close(fd);
  return (uint32_t)mtu;
}

static void cmd_mtu(char **f, int nf) {
  uint32_t id, size;
  if (nf != 3 || !parse_u32(f[1], &id) || !parse_u32(f[2], &size)) {
    warn("malformed mtu (want: mtu ID SIZE)");
    return;
  }
  int slot = find_slot(id);
  if (slot < 0) {
    emit(0, "E %u no such path\n", id);
    return;
  }
  struct path *p = &paths[slot];
  const struct family *fm = family_of(&p->dst);
  if (size < fm->min_probe || size > 65535) {
    emit(0, "E %u mtu size out of range\n", id);
    return;
  }
  if (p->mtu_deadline != 0) return; /* one at a time; its answer is coming */
  p->mtu_size = (int)size;
  p->mtu_seq = (uint16_t)(0x8000 | mtu_seq_next++); /* high bit: never a probe's low 16 bits soon */
  p->mtu_deadline = mono_now() + MTU_TIMEOUT_NS;
  mtu_pending++;
  int err = send_echo(p, slot, MAGIC_MTU, p->mtu_seq, p->mtu_seq, real_now(), size - fm->ip_header);
  if (err == EMSGSIZE) finish_mtu(p, "big", route_mtu(&socks[p->sock].addr, &p->dst)); /* larger than the local link's MTU */
}

/* A shift moves the next slot and every one after it; no slot is skipped or added. */
static void cmd_shift(char **f, int nf) {
  uint32_t id, us;
  int neg = nf == 3 && f[2][0] == '-';
  if (nf != 3 || !parse_u32(f[1], &id) || !parse_u32(f[2] + neg, &us)) {
    warn("malformed shift (want: shift ID USEC)");
    return;
  }
  int slot = find_slot(id);
  if (slot < 0) return; /* gone meanwhile */
  struct path *p = &paths[slot];
  ns_t d = (ns_t)us * 1000;
  if (d > p->interval / 4) {
    warn("shift out of range for path %u", id);
    return;
  }
  p->next += neg ? -d : d;
  heap_up(p->heap);
  heap_down(p->heap);
}

static void command(char *line) {
  char *f[8];
  int nf = 0;
  for (char *save = NULL, *t = strtok_r(line, " \t\r", &save); t != NULL; t = strtok_r(NULL, " \t\r", &save)) {
    if (nf == 8) {
      warn("too many fields");
      return;
    }
    f[nf++] = t;
  }
  if (nf == 0) return;
  if (strcmp(f[0], "add") == 0) cmd_add(f, nf);
  else if (strcmp(f[0], "del") == 0) cmd_del(f, nf);
  else if (strcmp(f[0], "mtu") == 0) cmd_mtu(f, nf);
  else if (strcmp(f[0], "shift") == 0) cmd_shift(f, nf);
  else if (strcmp(f[0], "hello") == 0 && nf == 1) {
    int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (fd >= 0) {
      close(fd);
      emit(0, "H ok\n");
    } else {
      const char *name = strerrorname_np(errno);
      emit(0, "H err %s\n", name ? name : "error");
    }
  } else if (strcmp(f[0], "quit") == 0 && nf == 1) {
    finish(0);
  } else warn("unknown command (%.16s)", f[0]);
}

static char in[MAX_LINE + 1];
static size_t in_len;
static int in_skipping; /* inside an overlong line: drop up to its newline */

/* Returns 0 at end of input. */
static int read_commands(void) {
  char buf[4096];
  ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
  if (n == 0) return 0;
  if (n < 0) return errno == EAGAIN || errno == EINTR;
  for (ssize_t i = 0; i < n; i++) {
    char c = buf[i];
    if (c == '\n') {
      if (!in_skipping) {
        in[in_len] = '\0';
        command(in);
      }
      in_len = 0;
      in_skipping = 0;
    } else if (in_skipping) {
      continue;
    } else if (in_len == MAX_LINE) {
      warn("input line longer than %d bytes ignored", MAX_LINE);
      in_skipping = 1;
      in_len = 0;
    } else if (c == '\0') {
      warn("NUL in input line ignored");
      in_skipping = 1;
      in_len = 0;
    } else {
      in[in_len++] = c;
    }
  }
  return 1;
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  if (setpriority(PRIO_PROCESS, 0, -10) != 0) warn("cannot raise priority to nice -10 (%s); running at the default", strerror(errno));
  if (getrandom(&echo_id, sizeof echo_id, 0) != sizeof echo_id) echo_id = (uint16_t)getpid();
  if (getrandom(&nonce, sizeof nonce, 0) != sizeof nonce) nonce = (uint32_t)mono_now();
  for (int i = 0; i < HASH_SIZE; i++) hash_pair[i] = -1;
  for (int i = 0; i < MAX_PATHS; i++) paths[i].heap = -1;
  fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
  fcntl(STDOUT_FILENO, F_SETFL, fcntl(STDOUT_FILENO, F_GETFL) | O_NONBLOCK);

  static struct pollfd pfd[MAX_SOCKS + 2];
  static int pfd_sock[MAX_SOCKS + 2];
  for (;;) {
    ns_t mono = mono_now();
    /* Sends due now. */
    while (heap_n > 0 && paths[heap[0]].next <= mono + SEND_SLACK_NS) send_probe(heap[0], mono);
    /* Don't-fragment probes without an answer in time. */
    if (mtu_pending > 0)
      for (int i = 0; i < MAX_PATHS; i++)
        if (paths[i].used && paths[i].mtu_deadline != 0 && paths[i].mtu_deadline <= mono) finish_mtu(&paths[i], "lost", 0);

    int n = 0;
    pfd[n] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
    pfd_sock[n++] = -1;
    if (out_len > 0) {
      pfd[n] = (struct pollfd){.fd = STDOUT_FILENO, .events = POLLOUT};
      pfd_sock[n++] = -2;
    }
    ns_t wait = IDLE_WAKE_NS;
    if (mono - last_read >= READ_EVERY_NS) {
      for (int i = 0; i < nsocks; i++)
        if (socks[i].refs > 0) {
          pfd[n] = (struct pollfd){.fd = socks[i].fd, .events = POLLIN};
          pfd_sock[n++] = i;
        }
    } else {
      wait = last_read + READ_EVERY_NS - mono;
    }
    if (heap_n > 0 && paths[heap[0]].next - mono < wait) wait = paths[heap[0]].next - mono;
    if (wait < 0) wait = 0;
    struct timespec ts = {.tv_sec = wait / 1000000000LL, .tv_nsec = wait % 1000000000LL};
    int r = ppoll(pfd, (nfds_t)n, &ts, NULL);
    if (r < 0 && errno != EINTR) {
      warn("poll: %s", strerror(errno));
      return 1;
    }
    /* NOW before reading, and every socket read to the end: every reply the kernel had by NOW
       is written before the T that vouches for it (or, when a socket had more, no T). */
    ns_t now_real = real_now();
    for (int i = 0; i < n && r > 0; i++)
      if (pfd_sock[i] == -1 && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) && !read_commands()) finish(0); /* stdin closed: the agent is done with us */
    int complete = 1;
    mono = mono_now();
    if (mono - last_read >= READ_EVERY_NS) {
      for (int i = 0; i < nsocks; i++)
        if (socks[i].refs > 0) complete &= drain(i);
      last_read = mono;
    } else {
      complete = 0; /* not read this time: nothing to vouch for */
    }
    if (complete && now_real - last_t >= T_EVERY_NS && mono >= no_t_until) {
      emit(1, "T %lld\n", (long long)now_real);
      last_t = now_real;
    }
    if (dropped > 0 && mono - last_d_report >= 1000000000LL) {
      emit(0, "D %llu\n", (unsigned long long)dropped);
      dropped = 0;
      last_d_report = mono;
    }
    flush_out();
  }
}
