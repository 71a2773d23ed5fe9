// The TAP addon: the only native code of the stack, kept tiny on purpose.
//
//   open(name, netnsPath|null, flags, devicePath) -> { fd, ifname } | { errno, syscall }
//       open /dev/net/tun (inside the netns when given, so the TAP is born there) and
//       TUNSETIFF with IFF_TAP | IFF_NO_PI [| IFF_VNET_HDR] [| IFF_MULTI_QUEUE].
//   closeFd(fd)
//   new TapDevice(fd, rxRing, txRing, onBatch, rxBudget, txThread)
//       polls fd with uv_poll (no extra thread for RX); on readable, read()s frames (one read
//       per frame: a TAP has no recvmmsg) into RX ring slots, up to rxBudget, then calls
//       onBatch(count) ONCE. onBatch(-errno) reports a fatal poll error (the device went
//       away); polling stops.
//       TX, txThread false: flush() write()s every frame pending in the TX ring, on the
//       calling (JS) thread, and returns the number written.
//       TX, txThread true: a writer thread is the TX ring's consumer (see "TX writer
//       thread" below); flush() wakes it if it sleeps (or, <= 4 frames found with it asleep,
//       write()s them itself) and returns the frames handed over since the previous flush();
//       it blocks only when the ring is full, until half of it is free.
//   device.flush() / stats() / setOffload(flags) / setVnetHdrSize(n) / ref() / unref() / close()
//
// Both rings use the layout documented in src/link/ring.ts (FrameRing); the constants
// below must agree with RingLayout there, and the addon exports them so a test checks.
// Errors are returned as errno numbers; src/link/tap.ts turns them into StackErrors with
// messages a person can act on. Nothing here throws into JS except on programming
// errors (bad argument types), and nothing aborts the process except failing to return
// to the original network namespace, which would leave the main thread in the wrong one.

#include <napi.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <vector>

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

namespace {

// ---- ring layout (must match RingLayout in src/link/ring.ts) ---------------------------
constexpr uint32_t kRingMagic = 0x474e5246;
constexpr uint32_t kRingVersion = 1;
constexpr size_t kOffMagic = 0;
constexpr size_t kOffVersion = 4;
constexpr size_t kOffSlotCount = 8;
constexpr size_t kOffSlotSize = 12;
constexpr size_t kOffHead = 64;
constexpr size_t kOffFull = 68;
constexpr size_t kOffOversize = 72;
constexpr size_t kOffTail = 128;
constexpr size_t kHeaderBytes = 192;
constexpr size_t kLenBytes = 4;

// open() flag bits (tap.ts passes them).
constexpr uint32_t kOpenVnetHdr = 1;
constexpr uint32_t kOpenMultiQueue = 2;

// Scratch buffer for frames read while the RX ring is full: a 64 KB GSO frame + header.
constexpr size_t kScratchBytes = 65536 + 64;

inline uint32_t LoadAcquire(const uint32_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
inline void StoreRelease(uint32_t* p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
inline void AtomicInc(uint32_t* p) { __atomic_fetch_add(p, 1, __ATOMIC_RELAXED); }

// A counter with one writer (whichever thread is the TX consumer) read from the JS thread:
// relaxed atomics, so a read never tears and the writer pays no locked instruction.
struct Counter {
  std::atomic<uint64_t> v{0};
  void Add(uint64_t n) { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t Get() const { return v.load(std::memory_order_relaxed); }
};

// futex(2) on a 32-bit word: sleep while *word == expected (timeout ms < 0: none).
void FutexWait(std::atomic<uint32_t>* word, uint32_t expected, int timeoutMs) {
  struct timespec ts;
  struct timespec* tsp = nullptr;
  if (timeoutMs >= 0) {
    ts.tv_sec = timeoutMs / 1000;
    ts.tv_nsec = long(timeoutMs % 1000) * 1000000L;
    tsp = &ts;
  }
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, tsp, nullptr, 0);
}
void FutexWake(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}
uint64_t NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
}
static_assert(sizeof(std::atomic<uint32_t>) == 4 && std::atomic<uint32_t>::is_always_lock_free, "futex word");

struct Ring {
  uint8_t* base = nullptr;
  uint32_t slots = 0;
  uint32_t mask = 0;
  uint32_t slotSize = 0;
  uint32_t capacity = 0;  // slotSize - kLenBytes

  uint32_t* Word(size_t off) const { return reinterpret_cast<uint32_t*>(base + off); }
  uint8_t* Slot(uint32_t counter) const { return base + kHeaderBytes + size_t(counter & mask) * slotSize; }

  // Validates the header written by FrameRing.create against the buffer's length.
  const char* Attach(uint8_t* data, size_t length) {
    if (data == nullptr || length < kHeaderBytes) return "ring buffer smaller than its header";
    if ((reinterpret_cast<uintptr_t>(data) & 7) != 0) return "ring buffer is not 8-byte aligned";
    base = data;
    if (*Word(kOffMagic) != kRingMagic || *Word(kOffVersion) != kRingVersion) return "not a FrameRing (bad magic or version)";
    slots = *Word(kOffSlotCount);
    slotSize = *Word(kOffSlotSize);
    if (slots == 0 || (slots & (slots - 1)) != 0) return "ring slot count is not a power of two";
    if (slotSize < 16 || slotSize % 8 != 0) return "ring slot size is not a multiple of 8 (>= 16)";
    if (kHeaderBytes + uint64_t(slots) * slotSize > length) return "ring buffer too small for its geometry";
    mask = slots - 1;
    capacity = slotSize - kLenBytes;
    return nullptr;
  }
};

class TapDevice;

// The uv_poll handle and what must outlive the TapDevice: libuv calls OnClosed after
// uv_close, possibly after the device was finalized. While it lives, an async env
// cleanup hook is registered, so a worker (or the main env) being torn down waits for
// the handle to close before the addon is unloaded; OnClosed removes the hook.
struct PollCtx {
  uv_poll_t handle;  // first member: a uv_handle_t* is a PollCtx*
  TapDevice* owner = nullptr;
  napi_async_cleanup_hook_handle hook = nullptr;
  bool closing = false;
};

void OnClosed(uv_handle_t* h) {
  PollCtx* ctx = reinterpret_cast<PollCtx*>(h);
  napi_async_cleanup_hook_handle hook = ctx->hook;
  delete ctx;
  if (hook != nullptr) napi_remove_async_cleanup_hook(hook);
}

void StartClose(PollCtx* ctx) {
  if (ctx->closing) return;
  ctx->closing = true;
  ctx->owner = nullptr;
  uv_poll_stop(&ctx->handle);
  uv_close(reinterpret_cast<uv_handle_t*>(&ctx->handle), OnClosed);
}

Napi::Object ErrnoResult(Napi::Env env, int err, const char* syscall) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("errno", Napi::Number::New(env, err));
  o.Set("syscall", Napi::String::New(env, syscall));
  o.Set("message", Napi::String::New(env, strerror(err)));
  return o;
}

// Opens the calling thread's current network namespace, to come back to it after setns.
int OpenOwnNetns() {
  int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (fd >= 0 || errno != ENOENT) return fd;
  // Kernels before 3.17 have no /proc/thread-self.
  std::string path = "/proc/self/task/" + std::to_string(long(syscall(SYS_gettid))) + "/ns/net";
  return open(path.c_str(), O_RDONLY | O_CLOEXEC);
}

// open(name: string, netnsPath: string | null, flags: number, devicePath: string)
Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsString() || !info[2].IsNumber() || !info[3].IsString()) {
    Napi::TypeError::New(env, "open(name, netnsPath, flags, devicePath)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  bool hasNetns = info[1].IsString();
  std::string netnsPath = hasNetns ? info[1].As<Napi::String>().Utf8Value() : std::string();
  uint32_t flags = info[2].As<Napi::Number>().Uint32Value();
  std::string devicePath = info[3].As<Napi::String>().Utf8Value();
  if (name.size() >= IFNAMSIZ) return ErrnoResult(env, EINVAL, "ifname");

  // The tun device belongs to the network namespace of the thread that opens
  // /dev/net/tun. Enter the target namespace on this thread only, open + TUNSETIFF,
  // and come straight back: the TAP is born inside the namespace and never shows in ours.
  int ownNs = -1;
  if (hasNetns) {
    int targetNs = open(netnsPath.c_str(), O_RDONLY | O_CLOEXEC);
    if (targetNs < 0) return ErrnoResult(env, errno, "open(netns)");
    ownNs = OpenOwnNetns();
    if (ownNs < 0) {
      int e = errno;
      close(targetNs);
      return ErrnoResult(env, e, "open(/proc/thread-self/ns/net)");
    }
    if (setns(targetNs, CLONE_NEWNET) < 0) {
      int e = errno;
      close(targetNs);
      close(ownNs);
      return ErrnoResult(env, e, "setns(netns)");
    }
    close(targetNs);
  }

  const char* failed = nullptr;
  int err = 0;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  int fd = open(devicePath.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    err = errno;
    failed = "open(/dev/net/tun)";
  } else {
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (flags & kOpenVnetHdr) ifr.ifr_flags |= IFF_VNET_HDR;
    if (flags & kOpenMultiQueue) ifr.ifr_flags |= IFF_MULTI_QUEUE;
    memcpy(ifr.ifr_name, name.data(), name.size());
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
      err = errno;
      failed = "ioctl(TUNSETIFF)";
      close(fd);
      fd = -1;
    }
  }

  if (hasNetns) {
    if (setns(ownNs, CLONE_NEWNET) < 0) {
      // The main thread would stay in the test's namespace: every later socket would
      // be created there. There is no safe way to continue.
      Napi::Error::Fatal("tap.cc open", "cannot return to the original network namespace");
    }
    close(ownNs);
  }
  if (fd < 0) return ErrnoResult(env, err, failed);

  Napi::Object o = Napi::Object::New(env);
  o.Set("fd", Napi::Number::New(env, fd));
  o.Set("ifname", Napi::String::New(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ)));
  return o;
}

Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  if (info.Length() >= 1 && info[0].IsNumber()) {
    int fd = info[0].As<Napi::Number>().Int32Value();
    if (fd > 2) close(fd);
  }
  return info.Env().Undefined();
}

class TapDevice : public Napi::ObjectWrap<TapDevice> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "TapDevice",
                       {
                           InstanceMethod<&TapDevice::Flush>("flush"),
                           InstanceMethod<&TapDevice::Stats>("stats"),
                           InstanceMethod<&TapDevice::SetOffload>("setOffload"),
                           InstanceMethod<&TapDevice::SetVnetHdrSize>("setVnetHdrSize"),
                           InstanceMethod<&TapDevice::JsRef>("ref"),
                           InstanceMethod<&TapDevice::JsUnref>("unref"),
                           InstanceMethod<&TapDevice::JsClose>("close"),
                       });
  }

  // new TapDevice(fd, rxRing: Uint8Array, txRing: Uint8Array, onBatch: (n) => void, rxBudget,
  //               txThread?: boolean)
  // On success the device owns fd; on a thrown error the caller still owns it.
  explicit TapDevice(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TapDevice>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 5 || !info[0].IsNumber() || !info[1].IsTypedArray() || !info[2].IsTypedArray() ||
        !info[3].IsFunction() || !info[4].IsNumber()) {
      Napi::TypeError::New(env, "new TapDevice(fd, rxRing, txRing, onBatch, rxBudget)").ThrowAsJavaScriptException();
      return;
    }
    Napi::Uint8Array rx = info[1].As<Napi::Uint8Array>();
    Napi::Uint8Array tx = info[2].As<Napi::Uint8Array>();
    if (const char* e = rx_.Attach(rx.Data(), rx.ByteLength())) {
      Napi::TypeError::New(env, std::string("rx ring: ") + e).ThrowAsJavaScriptException();
      return;
    }
    if (const char* e = tx_.Attach(tx.Data(), tx.ByteLength())) {
      Napi::TypeError::New(env, std::string("tx ring: ") + e).ThrowAsJavaScriptException();
      return;
    }
    txHandedHead_ = *tx_.Word(kOffHead);
    int budget = info[4].As<Napi::Number>().Int32Value();
    budget_ = budget < 1 ? 1 : budget > 65536 ? 65536 : budget;
    int fd = info[0].As<Napi::Number>().Int32Value();

    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      Napi::Error::New(env, "no libuv loop").ThrowAsJavaScriptException();
      return;
    }
    bool txThread = info.Length() > 5 && info[5].IsBoolean() && info[5].As<Napi::Boolean>().Value();
    poll_ = new PollCtx;
    int rc = uv_poll_init(loop, &poll_->handle, fd);
    if (rc != 0) {
      delete poll_;
      poll_ = nullptr;
      Napi::Error::New(env, std::string("uv_poll_init: ") + uv_strerror(rc)).ThrowAsJavaScriptException();
      return;
    }
    poll_->owner = this;
    fd_ = fd;
    if (txThread) {
      // Start the writer before anything else can fail; signals stay with the other threads.
      sigset_t all, old;
      sigfillset(&all);
      pthread_sigmask(SIG_SETMASK, &all, &old);
      int e = pthread_create(&txThread_, nullptr, TxThreadMain, this);
      pthread_sigmask(SIG_SETMASK, &old, nullptr);
      if (e != 0) {
        fd_ = -1;
        StartClose(poll_);
        poll_ = nullptr;
        Napi::Error::New(env, std::string("pthread_create(tap tx): ") + strerror(e)).ThrowAsJavaScriptException();
        return;
      }
      txThreadOn_ = true;
    }
    rxRef_ = Napi::Persistent(rx);
    txRef_ = Napi::Persistent(tx);
    onBatch_ = Napi::Persistent(info[3].As<Napi::Function>());
    asyncCtx_ = new Napi::AsyncContext(env, "TapDevice");
    scratch_.resize(kScratchBytes);
    napi_add_async_cleanup_hook(env, EnvTeardown, poll_, &poll_->hook);
    // An open device keeps itself alive (like a socket) until close().
    Ref();
    UpdatePoll();
  }

  ~TapDevice() override { CloseNow(); }

 private:
  // ---- readiness ------------------------------------------------------------------------
  void UpdatePoll() {
    if (poll_ == nullptr) return;
    int events = UV_READABLE | (txBlocked_ ? UV_WRITABLE : 0);
    if (events == pollEvents_) return;
    pollEvents_ = events;
    uv_poll_start(&poll_->handle, events, OnPoll);
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    TapDevice* self = reinterpret_cast<PollCtx*>(handle)->owner;
    if (self == nullptr || self->closed_) return;
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    Napi::Object keepAlive = self->Value();  // the wrapper survives any GC during callbacks
    (void)keepAlive;
    if (status < 0) {
      // POLLERR: the interface was deleted or the fd is dead. Stop, tell JS once.
      self->pollErrors_++;
      uv_poll_stop(handle);
      self->pollEvents_ = 0;
      self->Call(status);  // a uv status is -errno
      return;
    }
    if ((events & UV_WRITABLE) && !self->txThreadOn_) self->DrainTx();
    if (!self->closed_ && (events & UV_READABLE)) self->ReadBatch();
  }

  // Read up to budget_ frames into the RX ring, then hand them to JS in one call.
  void ReadBatch() {
    uint32_t* headp = rx_.Word(kOffHead);
    uint32_t* tailp = rx_.Word(kOffTail);
    uint32_t head = *headp;  // we are the only producer
    uint32_t tail = LoadAcquire(tailp);
    uint32_t produced = 0;
    for (int n = 0; n < budget_; n++) {
      if (head - tail >= rx_.slots) tail = LoadAcquire(tailp);
      if (head - tail >= rx_.slots) {
        // Ring full: take the frame off the fd anyway (level-triggered poll would spin)
        // and count it as dropped.
        ssize_t r = read(fd_, scratch_.data(), scratch_.size());
        if (r < 0) {
          if (errno == EINTR) continue;
          if (errno != EAGAIN) ReadError(errno);
          break;
        }
        rxDrops_++;
        AtomicInc(rx_.Word(kOffFull));
        continue;
      }
      uint8_t* slot = rx_.Slot(head);
      ssize_t r = read(fd_, slot + kLenBytes, rx_.capacity);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN) ReadError(errno);
        break;
      }
      if (size_t(r) >= rx_.capacity) {
        // A read that fills the slot may have been cut: tun_put_user() copies what fits
        // and returns that (old kernels) or the whole frame's length (iov_iter kernels).
        // Slots are sized with room to spare for the MTU, so such a frame is larger than
        // the ring was made for (the kernel side's MTU was raised). Never publish a cut
        // frame; count it in the ring's OVERSIZE word and in rxDrops.
        rxDrops_++;
        AtomicInc(rx_.Word(kOffOversize));
        continue;
      }
      *reinterpret_cast<uint32_t*>(slot) = uint32_t(r);
      head++;
      StoreRelease(headp, head);
      produced++;
      rxFrames_++;
      rxBytes_ += uint64_t(r);
    }
    if (produced > 0) {
      batches_++;
      Call(int(produced));
    }
  }

  void ReadError(int err) {
    rxErrors_++;
    lastRxErrno_ = err;
  }

  // One JS call; a throwing callback becomes an uncaught exception, as for any event.
  void Call(int arg) {
    Napi::Env env = Env();
    onBatch_.MakeCallback(Value(), {Napi::Number::New(env, arg)}, *asyncCtx_);
    if (env.IsExceptionPending()) {
      Napi::Error e = env.GetAndClearPendingException();
      napi_fatal_exception(env, e.Value());
    }
  }

  // ---- transmit ---------------------------------------------------------------------------
  // write() every frame pending in the TX ring. On EAGAIN keep the rest and wait for
  // UV_WRITABLE. A frame the kernel rejects with another error is counted and dropped.
  uint32_t DrainTx() {
    if (closed_) return 0;
    uint32_t* headp = tx_.Word(kOffHead);
    uint32_t* tailp = tx_.Word(kOffTail);
    uint32_t head = LoadAcquire(headp);
    uint32_t tail = *tailp;  // we are the only consumer
    uint32_t written = 0;
    bool blocked = false;
    while (tail != head) {
      uint8_t* slot = tx_.Slot(tail);
      uint32_t len = *reinterpret_cast<uint32_t*>(slot);
      if (len > tx_.capacity) {
        TxError(EMSGSIZE);
        tail++;
        continue;
      }
      ssize_t r = write(fd_, slot + kLenBytes, len);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {
          blocked = true;
          break;
        }
        TxError(errno);
        tail++;
        continue;
      }
      txFrames_.Add(1);
      txBytes_.Add(uint64_t(r));
      written++;
      tail++;
    }
    StoreRelease(tailp, tail);
    if (blocked) txBlockedCount_.Add(1);
    txBlocked_ = blocked;
    UpdatePoll();
    return written;
  }

  void TxError(int err) {
    txErrors_.Add(1);
    lastTxErrno_.store(err, std::memory_order_relaxed);
  }

  Napi::Value Flush(const Napi::CallbackInfo& info) {
    if (closed_) return Napi::Number::New(info.Env(), 0);
    if (txThreadOn_) return Napi::Number::New(info.Env(), HandOver());
    if (txBlocked_) return Napi::Number::New(info.Env(), 0);  // UV_WRITABLE will drain
    return Napi::Number::New(info.Env(), DrainTx());
  }

  // ---- TX writer thread ---------------------------------------------------------------------
  // The TX ring stays single-producer single-consumer: JS produces, the writer thread is
  // the only consumer (DrainTx is never called in this mode). The ring is a plain
  // ArrayBuffer, not a SharedArrayBuffer: nothing in the protocol needs SAB semantics,
  // only that the memory stays put (txRef_ holds the Uint8Array, and so its ArrayBuffer,
  // until the thread is joined in CloseNow) and that both sides order their accesses:
  //   JS:     fill slot + length word, then Atomics.store(HEAD) (ring.ts commit()/push());
  //   thread: load HEAD with acquire, read the slot (write()), store TAIL with release;
  //   JS:     Atomics.load(TAIL) before reusing a slot.
  // V8 compiles Atomics.load/store the same for shared and non-shared buffers: a
  // sequentially consistent access (x64: mov + xchg/mfence for the store; arm64: ldar /
  // stlr), which orders the plain stores of the frame bytes before HEAD, as release
  // requires, and the compiler never moves memory effects across it.
  //
  // Who consumes: txState_ is AWAKE (the thread), ASLEEP (nobody; the thread waits on the
  // futex until JS sets AWAKE) or JS_OWNS (the JS thread, inside one flush()). Only the
  // thread goes AWAKE -> ASLEEP; only JS leaves ASLEEP (to AWAKE + FUTEX_WAKE, or to JS_OWNS
  // and back), except for the thread's own re-check below, a CAS that loses to JS's.
  // Every hand-over of the consumer role is a release/acquire pair on txState_, so the
  // new consumer sees the TAIL (and counters) the previous one stored, and reloads TAIL.
  //
  // Sleeping, without a lost wake-up (Dekker with seq_cst on both sides): the thread sets
  // ASLEEP, then re-reads HEAD, and sleeps only if the ring is still empty (else it CASes
  // back to AWAKE); HandOver() (after JS's seq_cst store of HEAD) fences and reads
  // txState_. Either the thread sees the new HEAD or JS sees the thread asleep. While the
  // thread is busy, a flush() costs a fence and a load.
  //
  // Small hand-overs stay on the JS thread: when the writer sleeps and at most
  // kInlineFrames frames are pending (a reply, an ACK, a handshake, a few TSO super-
  // frames), waking it would add a futex wake and a thread switch to the latency of each;
  // JS takes the consumer role (ASLEEP -> JS_OWNS), write()s them itself as the
  // synchronous path does, and gives it back (-> ASLEEP). Larger backlogs (bulk MTU-sized
  // sending, ~100 frames per flush) wake the writer.
  //
  // A full ring: HandOver() blocks the JS thread until half the ring is free again (the
  // synchronous path would have blocked in write() for the same frames), using the same
  // pattern on txProducerWaiting_ / txSpace_. Not while the fd is blocked (EAGAIN): then
  // it returns at once and the sender drops, as the synchronous path does.

  // Write the frame at `tail` (by the current consumer); returns the next tail, or `tail`
  // itself with *blocked set on EAGAIN.
  uint32_t WriteOne(uint32_t tail, bool* blocked) {
    uint8_t* slot = tx_.Slot(tail);
    uint32_t len = *reinterpret_cast<uint32_t*>(slot);
    if (len > tx_.capacity) {
      TxError(EMSGSIZE);
      return tail + 1;
    }
    for (;;) {
      ssize_t r = write(fd_, slot + kLenBytes, len);
      if (r >= 0) {
        txFrames_.Add(1);
        txBytes_.Add(uint64_t(r));
        return tail + 1;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        *blocked = true;
        return tail;
      }
      TxError(errno);
      return tail + 1;
    }
  }

  static void* TxThreadMain(void* arg) {
    pthread_setname_np(pthread_self(), "tap-tx");
    static_cast<TapDevice*>(arg)->TxLoop();
    return nullptr;
  }

  void TxLoop() {
    uint32_t* headp = tx_.Word(kOffHead);
    uint32_t* tailp = tx_.Word(kOffTail);
    uint32_t tail = LoadAcquire(tailp);  // the consumer while AWAKE
    for (;;) {
      uint32_t head = LoadAcquire(headp);
      if (head != tail) {
        uint8_t* slot = tx_.Slot(tail);
        uint32_t len = *reinterpret_cast<uint32_t*>(slot);
        if (len > tx_.capacity) {
          TxError(EMSGSIZE);
        } else {
          ssize_t r = write(fd_, slot + kLenBytes, len);
          if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
              int w = TxWaitWritable();
              if (w == kWaitStop) break;  // stopping: what is left is dropped
              if (w == kWaitRetry) continue;
              errno = EIO;  // kWaitDrop: the fd reports an error; drop this frame
            }
            TxError(errno);
          } else {
            txFrames_.Add(1);
            txBytes_.Add(uint64_t(r));
          }
        }
        tail++;
        StoreRelease(tailp, tail);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (txProducerWaiting_.load(std::memory_order_relaxed) != 0 && head - tail <= tx_.slots / 2) WakeProducer();
        continue;
      }
      if (txStop_.load(std::memory_order_acquire)) break;  // stop only once the ring is empty
      txState_.store(kAsleep, std::memory_order_seq_cst);
      if (__atomic_load_n(headp, __ATOMIC_SEQ_CST) != tail || txStop_.load(std::memory_order_seq_cst)) {
        uint32_t expected = kAsleep;
        if (txState_.compare_exchange_strong(expected, kAwake, std::memory_order_acq_rel)) {
          tail = LoadAcquire(tailp);
          continue;
        }
        // JS got there first: AWAKE (go on) or JS_OWNS (it writes them; wait for AWAKE).
      }
      txSleeps_.Add(1);
      for (uint32_t v; (v = txState_.load(std::memory_order_acquire)) != kAwake;) FutexWait(&txState_, v, -1);
      tail = LoadAcquire(tailp);  // JS may have written frames meanwhile
    }
    txBlockedNow_.store(0, std::memory_order_relaxed);
    WakeProducer();
  }

  // write() said EAGAIN: wait for POLLOUT in slices, so a stop is seen within 10 ms.
  static constexpr int kWaitRetry = 0, kWaitStop = 1, kWaitDrop = 2;
  int TxWaitWritable() {
    txBlockedCount_.Add(1);
    txBlockedNow_.store(1, std::memory_order_seq_cst);
    if (txProducerWaiting_.load(std::memory_order_seq_cst) != 0) WakeProducer();
    int result = kWaitRetry;
    for (;;) {
      if (txStop_.load(std::memory_order_acquire)) {
        result = kWaitStop;
        break;
      }
      struct pollfd p = {fd_, POLLOUT, 0};
      int n = poll(&p, 1, 10);
      if (n > 0) {
        // The device went away: drop the frame rather than retry it in a loop.
        if (p.revents & (POLLERR | POLLNVAL | POLLHUP)) result = kWaitDrop;
        break;
      }
      if (n < 0 && errno != EINTR) {
        result = kWaitDrop;
        break;
      }
    }
    txBlockedNow_.store(0, std::memory_order_relaxed);
    return result;
  }

  void WakeProducer() {
    if (txProducerWaiting_.exchange(0, std::memory_order_seq_cst) == 0) return;
    txSpace_.fetch_add(1, std::memory_order_seq_cst);
    FutexWake(&txSpace_);
  }

  // JS thread: the frames published since the last flush() go to the writer thread (or,
  // a few while it sleeps, are written here).
  uint32_t HandOver() {
    uint32_t* headp = tx_.Word(kOffHead);
    uint32_t* tailp = tx_.Word(kOffTail);
    uint32_t head = __atomic_load_n(headp, __ATOMIC_RELAXED);  // JS (this thread) wrote it
    uint32_t handed = head - txHandedHead_;
    txHandedHead_ = head;
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (txState_.load(std::memory_order_relaxed) == kAsleep) {
      uint32_t expected = kAsleep;
      if (head - LoadAcquire(tailp) <= kInlineFrames &&
          txState_.compare_exchange_strong(expected, kJsOwns, std::memory_order_acq_rel)) {
        uint32_t tail = LoadAcquire(tailp);
        bool blocked = false;
        while (tail != head && !blocked) tail = WriteOne(tail, &blocked);
        StoreRelease(tailp, tail);
        txInline_.Add(1);
        if (!blocked) {
          txState_.store(kAsleep, std::memory_order_release);
          return handed;
        }
        // EAGAIN: the writer polls for POLLOUT and writes the rest.
        txBlockedCount_.Add(1);
        expected = kJsOwns;
      }
      if (txState_.compare_exchange_strong(expected, kAwake, std::memory_order_seq_cst)) {
        txWakes_.Add(1);
        FutexWake(&txState_);
      }
    }
    if (head - LoadAcquire(tailp) < tx_.slots) return handed;
    // Full: wait until half of it is free (or the fd blocks, or 1 s passes: the caller
    // then finds the ring still full and drops, as with EAGAIN on the synchronous path).
    txFullWaits_.Add(1);
    uint64_t deadline = NowMs() + 1000;
    for (;;) {
      uint32_t seq = txSpace_.load(std::memory_order_seq_cst);
      txProducerWaiting_.store(1, std::memory_order_seq_cst);
      if (head - __atomic_load_n(tailp, __ATOMIC_SEQ_CST) <= tx_.slots / 2) break;
      if (txBlockedNow_.load(std::memory_order_seq_cst) != 0) break;
      uint64_t now = NowMs();
      if (now >= deadline) break;
      FutexWait(&txSpace_, seq, int(deadline - now));
    }
    txProducerWaiting_.store(0, std::memory_order_relaxed);
    return handed;
  }

  // Stop the writer (after it wrote what is pending, unless the fd blocks) and join it.
  void StopTxThread() {
    if (!txThreadOn_) return;
    txStop_.store(true, std::memory_order_seq_cst);
    txState_.store(kAwake, std::memory_order_seq_cst);  // never JS_OWNS here: that is inside a flush()
    FutexWake(&txState_);
    pthread_join(txThread_, nullptr);
    txThreadOn_ = false;
  }

  // ---- control ------------------------------------------------------------------------------
  Napi::Value SetOffload(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) return Napi::Number::New(env, EBADF);
    unsigned int flags = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : 0;
    if (ioctl(fd_, TUNSETOFFLOAD, (unsigned long)flags) < 0) return Napi::Number::New(env, errno);
    return Napi::Number::New(env, 0);
  }

  Napi::Value SetVnetHdrSize(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) return Napi::Number::New(env, EBADF);
    int size = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
    if (ioctl(fd_, TUNSETVNETHDRSZ, &size) < 0) return Napi::Number::New(env, errno);
    return Napi::Number::New(env, 0);
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("rxFrames", double(rxFrames_));
    o.Set("rxBytes", double(rxBytes_));
    o.Set("rxDrops", double(rxDrops_));
    o.Set("rxErrors", double(rxErrors_));
    o.Set("lastRxErrno", lastRxErrno_);
    o.Set("batches", double(batches_));
    o.Set("txFrames", double(txFrames_.Get()));
    o.Set("txBytes", double(txBytes_.Get()));
    o.Set("txErrors", double(txErrors_.Get()));
    o.Set("lastTxErrno", lastTxErrno_.load(std::memory_order_relaxed));
    o.Set("txBlocked", double(txBlockedCount_.Get()));
    o.Set("txThread", txThreadOn_);
    o.Set("txSleeps", double(txSleeps_.Get()));
    o.Set("txWakes", double(txWakes_.Get()));
    o.Set("txFullWaits", double(txFullWaits_.Get()));
    o.Set("txInline", double(txInline_.Get()));
    o.Set("pollErrors", double(pollErrors_));
    return o;
  }

  Napi::Value JsRef(const Napi::CallbackInfo& info) {
    if (poll_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(&poll_->handle));
    return info.Env().Undefined();
  }

  Napi::Value JsUnref(const Napi::CallbackInfo& info) {
    if (poll_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(&poll_->handle));
    return info.Env().Undefined();
  }

  Napi::Value JsClose(const Napi::CallbackInfo& info) {
    bool wasOpen = !closed_;
    CloseNow();
    if (wasOpen) Unref();  // drop the keep-alive reference taken in the constructor
    return info.Env().Undefined();
  }

  // The environment is going away with the device still open: close it; Node waits
  // until OnClosed removes the hook.
  static void EnvTeardown(napi_async_cleanup_hook_handle, void* arg) {
    PollCtx* ctx = static_cast<PollCtx*>(arg);
    if (ctx->owner != nullptr) ctx->owner->CloseNow();
    else StartClose(ctx);
  }

  // Stop the writer thread (it writes what is pending first), stop polling, close the fd,
  // drop the JS references (the thread no longer touches the ring). Idempotent.
  void CloseNow() {
    if (closed_) return;
    closed_ = true;
    StopTxThread();
    if (poll_ != nullptr) {
      StartClose(poll_);  // before close(fd): the fd leaves epoll first
      poll_ = nullptr;
    }
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
    onBatch_.Reset();
    rxRef_.Reset();
    txRef_.Reset();
    delete asyncCtx_;
    asyncCtx_ = nullptr;
  }

  int fd_ = -1;
  bool closed_ = false;
  bool txBlocked_ = false;
  int pollEvents_ = 0;
  int budget_ = 256;
  PollCtx* poll_ = nullptr;
  Ring rx_;
  Ring tx_;
  Napi::Reference<Napi::Uint8Array> rxRef_;
  Napi::Reference<Napi::Uint8Array> txRef_;
  Napi::FunctionReference onBatch_;
  Napi::AsyncContext* asyncCtx_ = nullptr;
  std::vector<uint8_t> scratch_;
  uint64_t rxFrames_ = 0, rxBytes_ = 0, rxDrops_ = 0, rxErrors_ = 0, batches_ = 0;
  uint64_t pollErrors_ = 0;
  int lastRxErrno_ = 0;
  // TX counters: written by the TX consumer (this thread or the writer), read by stats().
  Counter txFrames_, txBytes_, txErrors_, txBlockedCount_;
  std::atomic<int> lastTxErrno_{0};
  // TX writer thread (txThread option).
  bool txThreadOn_ = false;
  pthread_t txThread_{};
  uint32_t txHandedHead_ = 0;                   // JS thread only: HEAD at the last flush()
  std::atomic<bool> txStop_{false};
  static constexpr uint32_t kAwake = 0, kAsleep = 1, kJsOwns = 2;
  static constexpr uint32_t kInlineFrames = 4;
  std::atomic<uint32_t> txState_{kAwake};       // futex: who consumes the TX ring (above)
  std::atomic<uint32_t> txProducerWaiting_{0};  // 1 while flush() waits for space
  std::atomic<uint32_t> txSpace_{0};            // futex: bumped when space is freed for it
  std::atomic<uint32_t> txBlockedNow_{0};       // 1 while the writer waits for POLLOUT
  Counter txSleeps_, txWakes_, txFullWaits_, txInline_;
};

Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  c.Set("IFF_TAP", IFF_TAP);
  c.Set("IFF_NO_PI", IFF_NO_PI);
  c.Set("IFF_VNET_HDR", IFF_VNET_HDR);
  c.Set("IFF_MULTI_QUEUE", IFF_MULTI_QUEUE);
  c.Set("TUN_F_CSUM", TUN_F_CSUM);
  c.Set("TUN_F_TSO4", TUN_F_TSO4);
  c.Set("TUN_F_TSO6", TUN_F_TSO6);
  c.Set("TUN_F_TSO_ECN", TUN_F_TSO_ECN);
  c.Set("TUN_F_UFO", TUN_F_UFO);
  c.Set("TUN_F_USO4", TUN_F_USO4);
  c.Set("TUN_F_USO6", TUN_F_USO6);
  c.Set("OPEN_VNET_HDR", kOpenVnetHdr);
  c.Set("OPEN_MULTI_QUEUE", kOpenMultiQueue);
  Napi::Object r = Napi::Object::New(env);
  r.Set("MAGIC", kRingMagic);
  r.Set("VERSION", kRingVersion);
  r.Set("OFF_MAGIC", double(kOffMagic));
  r.Set("OFF_VERSION", double(kOffVersion));
  r.Set("OFF_SLOT_COUNT", double(kOffSlotCount));
  r.Set("OFF_SLOT_SIZE", double(kOffSlotSize));
  r.Set("OFF_HEAD", double(kOffHead));
  r.Set("OFF_FULL", double(kOffFull));
  r.Set("OFF_OVERSIZE", double(kOffOversize));
  r.Set("OFF_TAIL", double(kOffTail));
  r.Set("HEADER_BYTES", double(kHeaderBytes));
  r.Set("LEN_BYTES", double(kLenBytes));
  c.Set("ring", r);
  return c;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("open", Napi::Function::New<Open>(env, "open"));
  exports.Set("closeFd", Napi::Function::New<CloseFd>(env, "closeFd"));
  exports.Set("TapDevice", TapDevice::Define(env));
  exports.Set("constants", Constants(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(tap, Init)
