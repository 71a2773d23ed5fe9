/**
 * The kernel-side load generators and reference servers, as small C programs compiled with
 * gcc into a temp dir at bench time (cheap and accurate: no interpreter between the
 * measurement and the socket).
 *
 *   bench-cli latency HOST PORT SECONDS            1-byte ping-pong; prints p50/p99/mean in us
 *   bench-cli connrate HOST PORT SECONDS CONC [WARMUP]
 *                                                  CONC connections in flight: connect, send 1 byte,
 *                                                  read the 1-byte reply and the server's FIN, close;
 *                                                  WARMUP seconds of the same load first, not counted
 *   bench-cli hold HOST PORT COUNT                 open COUNT connections, print "ready N", keep them
 *                                                  until stdin closes
 *   bench-srv echo|rr|hold PORT                    epoll server: echo bytes back / reply 1 byte then
 *                                                  close / accept and keep
 *
 * Every program prints one JSON object (or the "ready"/"listening" line) on stdout.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const COMMON = String.raw`
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}
static void nodelay(int s) { int one = 1; setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); }
static void nonblock(int s) { fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK); }
static void raise_nofile(void) {
  struct rlimit r;
  getrlimit(RLIMIT_NOFILE, &r);
  r.rlim_cur = r.rlim_max;
  setrlimit(RLIMIT_NOFILE, &r);
}
`;

const CLIENT_C = String.raw`
static struct sockaddr_in dst;

static int open_conn(int nb) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return -1;
  nodelay(s);
  if (nb) nonblock(s);
  if (connect(s, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS) { close(s); return -1; }
  return s;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* 1-byte request/response over one connection for SECONDS (at most 2M samples). */
static int latency(double secs) {
  int s = open_conn(0);
  if (s < 0) { perror("connect"); return 1; }
  enum { MAX = 2000000, WARMUP = 200 };
  double *lat = malloc(sizeof(double) * MAX);
  long n = 0, i = 0;
  char c = 'x';
  double t0 = now_s(), end = t0 + secs;
  for (;;) {
    double a = now_s();
    if (a >= end || n >= MAX) break;
    if (write(s, &c, 1) != 1) { perror("write"); return 1; }
    if (read(s, &c, 1) != 1) { perror("read"); return 1; }
    double b = now_s();
    if (i++ >= WARMUP) lat[n++] = (b - a) * 1e6;
  }
  close(s);
  if (n == 0) { fprintf(stderr, "no samples\n"); return 1; }
  double sum = 0;
  for (long k = 0; k < n; k++) sum += lat[k];
  qsort(lat, n, sizeof(double), cmp_double);
  printf("{\"samples\":%ld,\"p50_us\":%.2f,\"p99_us\":%.2f,\"mean_us\":%.2f,\"max_us\":%.2f}\n",
         n, lat[n / 2], lat[(long)(n * 0.99)], sum / n, lat[n - 1]);
  return 0;
}

/*
 * CONC connections in flight; each: connect, write 1 byte, read reply + EOF, close. The
 * first WARM seconds are the same load, not counted (like iperf3 -O): the server's JIT,
 * caches and tables warm up; then connections completed in the SECS window are counted.
 */
enum { ST_CONNECTING = 1, ST_WAITING = 2 };
static int connrate(double secs, int conc, double warm) {
  int ep = epoll_create1(0);
  int *state = calloc(1 << 20, sizeof(int));
  long done = 0, errors = 0, started = 0, warm_done = 0, warm_errors = 0;
  double t0 = now_s(), start = t0 + warm, end = start + secs;
  int active = 0;
  struct epoll_event ev, evs[256];
  for (;;) {
    double t = now_s();
    while (t < end && active < conc) {
      int s = open_conn(1);
      if (s < 0 || s >= (1 << 20)) { errors++; if (s >= 0) close(s); break; }
      state[s] = ST_CONNECTING;
      ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
      ev.data.fd = s;
      epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
      active++;
      started++;
    }
    if (active == 0) break;
    int n = epoll_wait(ep, evs, 256, 100);
    if (t >= end + 5) break;
    for (int k = 0; k < n; k++) {
      int s = evs[k].data.fd;
      unsigned e = evs[k].events;
      if (state[s] == ST_CONNECTING) {
        int err = 0; socklen_t len = sizeof err;
        getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || (e & EPOLLERR)) goto fail;
        if (e & EPOLLOUT) {
          char c = 'r';
          if (write(s, &c, 1) != 1) goto fail;
          state[s] = ST_WAITING;
          ev.events = EPOLLIN | EPOLLRDHUP;
          ev.data.fd = s;
          epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev);
        }
        continue;
      }
      if (state[s] == ST_WAITING) {
        char buf[64];
        ssize_t r;
        int got_eof = 0;
        while ((r = read(s, buf, sizeof buf)) > 0) {}
        if (r == 0) got_eof = 1;
        else if (errno != EAGAIN) goto fail;
        if (!got_eof) continue;
        close(s); state[s] = 0; active--;
        double tc = now_s();
        if (tc < start) warm_done++;
        else if (tc <= end) done++;
        continue;
      }
      continue;
    fail:
      if (now_s() < start) warm_errors++; else errors++;
      close(s); state[s] = 0; active--;
    }
  }
  double el = now_s() - start;
  double window = el < secs ? el : secs;
  if (window <= 0) window = 1e-9;
  printf("{\"connections\":%ld,\"errors\":%ld,\"started\":%ld,\"seconds\":%.3f,\"per_second\":%.1f,"
         "\"warmup_seconds\":%.3f,\"warmup_connections\":%ld,\"warmup_errors\":%ld}\n",
         done, errors, started, window, done / window, warm, warm_done, warm_errors);
  return 0;
}

/* Open COUNT connections (at most 512 connects in flight), report, hold until stdin closes. */
static int hold(int count) {
  int ep = epoll_create1(0);
  int *fds = calloc(count, sizeof(int));
  int opened = 0, connected = 0, failed = 0, inflight = 0;
  struct epoll_event ev, evs[512];
  double deadline = now_s() + 60;
  while (connected + failed < count && now_s() < deadline) {
    while (opened < count && inflight < 512) {
      int s = open_conn(1);
      if (s < 0) { failed++; opened++; continue; }
      fds[opened++] = s;
      ev.events = EPOLLOUT;
      ev.data.fd = s;
      epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
      inflight++;
    }
    int n = epoll_wait(ep, evs, 512, 100);
    for (int k = 0; k < n; k++) {
      int s = evs[k].data.fd, err = 0;
      socklen_t len = sizeof err;
      getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len);
      epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL);
      inflight--;
      if (err == 0) connected++; else failed++;
    }
  }
  printf("{\"ready\":%d,\"failed\":%d}\n", connected, failed);
  fflush(stdout);
  char buf[64];
  while (read(0, buf, sizeof buf) > 0) {}
  for (int i = 0; i < opened; i++) if (fds[i] > 0) close(fds[i]);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 5) { fprintf(stderr, "usage: bench-cli latency|connrate|hold HOST PORT ARG [CONC [WARMUP]]\n"); return 2; }
  raise_nofile();
  memset(&dst, 0, sizeof dst);
  dst.sin_family = AF_INET;
  dst.sin_port = htons(atoi(argv[3]));
  if (inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1) { fprintf(stderr, "bad host\n"); return 2; }
  if (!strcmp(argv[1], "latency")) return latency(atof(argv[4]));
  if (!strcmp(argv[1], "connrate")) return connrate(atof(argv[4]), argc > 5 ? atoi(argv[5]) : 16, argc > 6 ? atof(argv[6]) : 0);
  if (!strcmp(argv[1], "hold")) return hold(atoi(argv[4]));
  return 2;
}
`;

const SERVER_C = String.raw`
/* bench-srv echo|rr|hold PORT: one epoll loop. */
int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: bench-srv echo|rr|hold PORT\n"); return 2; }
  raise_nofile();
  int mode = !strcmp(argv[1], "echo") ? 0 : !strcmp(argv[1], "rr") ? 1 : 2;
  int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(atoi(argv[2]));
  if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 8192) < 0) { perror("bind/listen"); return 1; }
  nonblock(ls);
  int ep = epoll_create1(0);
  struct epoll_event ev, evs[256];
  ev.events = EPOLLIN;
  ev.data.fd = ls;
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  printf("listening %s\n", argv[2]);
  fflush(stdout);
  char buf[65536];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    for (int k = 0; k < n; k++) {
      int s = evs[k].data.fd;
      if (s == ls) {
        int c;
        while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          nodelay(c);
          ev.events = EPOLLIN | EPOLLRDHUP;
          ev.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
        }
        continue;
      }
      ssize_t r = read(s, buf, sizeof buf);
      if (r > 0 && mode == 0) { if (write(s, buf, r) != r) { close(s); } continue; }
      if (r > 0 && mode == 1) { char c = 'R'; if (write(s, &c, 1) < 0) {} close(s); continue; }
      if (r > 0) continue;
      if (r == 0 || errno != EAGAIN) close(s);
    }
  }
}
`;

export interface CTools {
  client: string;
  server: string;
}

/** Compile both programs into `dir`; throws with gcc's message when that fails. */
export function buildCTools(dir: string): CTools {
  const out: Record<string, string> = {};
  for (const [name, body] of [
    ['bench-cli', CLIENT_C],
    ['bench-srv', SERVER_C],
  ] as const) {
    const src = join(dir, `${name}.c`);
    const bin = join(dir, name);
    writeFileSync(src, COMMON + body);
    try {
      execFileSync('gcc', ['-O2', '-Wall', '-o', bin, src], { stdio: 'pipe' });
    } catch (e) {
      const err = e as { stderr?: Buffer };
      throw new Error(`gcc ${name}.c failed: ${err.stderr?.toString() ?? String(e)}`);
    }
    out[name] = bin;
  }
  return { client: out['bench-cli']!, server: out['bench-srv']! };
}
