// ThreadSanitizer build only (preset tsan, HERD_TSAN_C11_THREADS): C11 <threads.h> routed
// through pthreads, so TSan's interceptors see every thread librdkafka starts and every lock it
// takes.
//
// Why: Debian's librdkafka 2.0.2 creates its threads with C11 thrd_create() and locks with
// mtx_*/cnd_* (glibc >= 2.28 provides them). GCC 12's libtsan intercepts pthread_create and the
// pthread mutex/condvar calls but none of the C11 ones (nor does clang 14's runtime), so a
// librdkafka thread starts without TSan's per-thread state and crashes (SIGSEGV) in its first
// intercepted malloc, and its locks would be invisible. glibc implements mtx_t / cnd_t as
// pthread_mutex_t / pthread_cond_t (nptl/mtx_lock.c casts them the same way), so forwarding is
// exact. Linked into every executable of that build as a shared library that comes before libc:
// librdkafka's references bind here, and these call the intercepted pthread functions.
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <threads.h>

#include <new>

namespace {

int to_thrd(int rc) {
  switch (rc) {
    case 0: return thrd_success;
    case ENOMEM: return thrd_nomem;
    case ETIMEDOUT: return thrd_timedout;
    case EBUSY: return thrd_busy;
    default: return thrd_error;
  }
}

struct start_args {
  thrd_start_t func;
  void* arg;
};

void* trampoline(void* p) {
  const start_args a = *static_cast<start_args*>(p);
  delete static_cast<start_args*>(p);
  return reinterpret_cast<void*>(static_cast<intptr_t>(a.func(a.arg)));
}

pthread_mutex_t* as_pthread(mtx_t* m) { return reinterpret_cast<pthread_mutex_t*>(m); }
pthread_cond_t* as_pthread(cnd_t* c) { return reinterpret_cast<pthread_cond_t*>(c); }

}  // namespace

extern "C" {

int thrd_create(thrd_t* thr, thrd_start_t func, void* arg) {
  auto* a = new (std::nothrow) start_args{func, arg};
  if (a == nullptr) return thrd_nomem;
  const int rc = pthread_create(thr, nullptr, trampoline, a);
  if (rc != 0) delete a;
  return to_thrd(rc);
}

int thrd_join(thrd_t thr, int* res) {
  void* r = nullptr;
  const int rc = pthread_join(thr, &r);
  if (rc == 0 && res != nullptr) *res = static_cast<int>(reinterpret_cast<intptr_t>(r));
  return to_thrd(rc);
}

int thrd_detach(thrd_t thr) { return to_thrd(pthread_detach(thr)); }

int mtx_init(mtx_t* m, int type) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  if ((type & mtx_recursive) != 0) pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  const int rc = pthread_mutex_init(as_pthread(m), &attr);
  pthread_mutexattr_destroy(&attr);
  return to_thrd(rc);
}
int mtx_lock(mtx_t* m) { return to_thrd(pthread_mutex_lock(as_pthread(m))); }
int mtx_trylock(mtx_t* m) { return to_thrd(pthread_mutex_trylock(as_pthread(m))); }
int mtx_timedlock(mtx_t* m, const struct timespec* ts) {
  return to_thrd(pthread_mutex_timedlock(as_pthread(m), ts));
}
int mtx_unlock(mtx_t* m) { return to_thrd(pthread_mutex_unlock(as_pthread(m))); }
void mtx_destroy(mtx_t* m) { pthread_mutex_destroy(as_pthread(m)); }

int cnd_init(cnd_t* c) { return to_thrd(pthread_cond_init(as_pthread(c), nullptr)); }
int cnd_signal(cnd_t* c) { return to_thrd(pthread_cond_signal(as_pthread(c))); }
int cnd_broadcast(cnd_t* c) { return to_thrd(pthread_cond_broadcast(as_pthread(c))); }
int cnd_wait(cnd_t* c, mtx_t* m) { return to_thrd(pthread_cond_wait(as_pthread(c), as_pthread(m))); }
int cnd_timedwait(cnd_t* c, mtx_t* m, const struct timespec* ts) {
  return to_thrd(pthread_cond_timedwait(as_pthread(c), as_pthread(m), ts));
}
void cnd_destroy(cnd_t* c) { pthread_cond_destroy(as_pthread(c)); }

}  // extern "C"
