/* pidlock-explore-agent: one process of the explorer (scripts/explore). It loads
 * libpidlock.so.1 by path, binds only PIDLOCK_1.0 and PIDLOCK_1.1 functions (so that it runs
 * against older builds), and executes one command at a time read from its control socket
 * (SOCK_SEQPACKET: one packet a command, one packet a reply).
 *
 * Usage: pidlock-explore-agent LIBRARY CONTROL_FD LOCK_PATH [nowipe] [noinotify]
 *   nowipe     madvise(MADV_WIPEONFORK) answers EINVAL (a seccomp filter, as kernels before
 *              4.14 and some container profiles do)
 *   noinotify  inotify_init1() and inotify_init() answer EMFILE
 * Both filters are installed before the library is loaded and are inherited by forked agents.
 *
 * Replies are "R ..." packets; a wait that did not finish within a few milliseconds replies
 * "R pending" and reports "E acq RC HOLDER FD DEV INO" when it ends, from its own thread, so
 * that a blocked wait never blocks the command loop. fork and rfork (syscall(SYS_fork)) make a
 * new agent: the socket pair is made before the fork, the explorer's end travels back in the
 * reply (SCM_RIGHTS), and the child keeps the parent's handle and waiter.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

typedef struct pidlock pidlock;
typedef struct pidlock_waiter pidlock_waiter;

static int (*p_acquire)(const char *, unsigned, int, pidlock **, pid_t *);
static int (*p_release)(pidlock *);
static int (*p_update)(pidlock *);
static int (*p_fd)(const pidlock *);
static int (*p_check)(const pidlock *);
static int (*p_waiter_new)(const char *, unsigned, pidlock_waiter **);
static int (*p_waiter_fd)(const pidlock_waiter *);
static int (*p_waiter_try)(pidlock_waiter *, pidlock **, pid_t *);
static void (*p_waiter_free)(pidlock_waiter *);

static int ctl = -1;
static const char *lock_path;
static pidlock *L;
static pidlock_waiter *W;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct rlimit saved_nofile;
static int emfile_on;

/* The wait in flight (at most one an agent). */
static struct {
	int active, done, replied;
	unsigned flags;
	int timeout;
	int rc;
	pid_t holder;
	pidlock *lock;
	pthread_t thread;
} wt;

#if defined(__x86_64__) || defined(__aarch64__) /* only the seccomp filter can fail this way */
static void die(const char *what)
{
	fprintf(stderr, "pidlock-explore-agent: %s: %s\n", what, strerror(errno));
	_exit(111);
}
#endif

static void *bind_sym(void *lib, const char *name, const char *version)
{
	void *f = dlvsym(lib, name, version);
	if (!f)
		f = dlsym(lib, name); /* a build without symbol versions */
	if (!f) {
		fprintf(stderr, "pidlock-explore-agent: %s@%s missing\n", name, version);
		_exit(111);
	}
	return f;
}

static void send_packet(const char *msg, int pass_fd)
{
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = strlen(msg) };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (pass_fd >= 0) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	while (sendmsg(ctl, &mh, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			_exit(0); /* the explorer is gone */
}

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	send_packet(buf, -1);
}

/* "FD DEV INO" of a handle, for the explorer's bookkeeping. */
static void describe(pidlock *lk, char *buf, size_t size)
{
	struct stat st;
	int fd = lk ? p_fd(lk) : -1;
	if (fd >= 0 && fstat(fd, &st) == 0)
		snprintf(buf, size, "%d %llu %llu", fd, (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino);
	else
		snprintf(buf, size, "%d 0 0", fd);
}

/* A crash says where, on stderr (the explorer shows it with the schedule). */
static void on_crash(int sig)
{
	void *frames[32];
	int n = backtrace(frames, 32);
	static const char head[] = "pidlock-explore-agent: crashed; backtrace:\n";
	if (write(2, head, sizeof(head) - 1) < 0) {
	}
	backtrace_symbols_fd(frames, n, 2);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_usr1(int sig)
{
	(void)sig;
}

static void *wait_main(void *arg)
{
	(void)arg;
	pidlock *lk = NULL;
	pid_t holder = 0;
	int rc = p_acquire(lock_path, wt.flags, wt.timeout, &lk, &holder);
	char d[96], msg[160];
	pthread_mutex_lock(&mu);
	wt.rc = rc;
	wt.holder = holder;
	wt.lock = lk;
	wt.done = 1;
	if (rc == 0)
		L = lk;
	if (wt.replied) {
		describe(rc == 0 ? lk : NULL, d, sizeof(d));
		snprintf(msg, sizeof(msg), "E acq %d %d %s", rc, (int)holder, d);
		send_packet(msg, -1);
		wt.active = 0;
	}
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void cmd_acq(unsigned flags, int timeout)
{
	char d[96];
	if (L || wt.active) {
		reply("R busy");
		return;
	}
	if (timeout == 0) {
		pidlock *lk = NULL;
		pid_t holder = 0;
		int rc = p_acquire(lock_path, flags, 0, &lk, &holder);
		if (rc == 0)
			L = lk;
		describe(rc == 0 ? lk : NULL, d, sizeof(d));
		reply("R %d %d %s", rc, (int)holder, d);
		return;
	}
	pthread_mutex_lock(&mu);
	memset(&wt, 0, sizeof(wt));
	wt.active = 1;
	wt.flags = flags;
	wt.timeout = timeout;
	if (pthread_create(&wt.thread, NULL, wait_main, NULL) != 0) {
		wt.active = 0;
		pthread_mutex_unlock(&mu);
		reply("R %d 0 -1 0 0", -ENOMEM);
		return;
	}
	pthread_detach(wt.thread);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += 20 * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (!wt.done && pthread_cond_timedwait(&cv, &mu, &until) == 0)
		;
	if (wt.done) {
		describe(wt.rc == 0 ? wt.lock : NULL, d, sizeof(d));
		wt.active = 0;
		pthread_mutex_unlock(&mu);
		reply("R %d %d %s", wt.rc, (int)wt.holder, d);
		return;
	}
	wt.replied = 1;
	pthread_mutex_unlock(&mu);
	reply("R pending");
}

static void cmd_fork(int raw)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		reply("R %d", -errno);
		return;
	}
	pthread_mutex_lock(&mu); /* no event is half sent in the child */
	pid_t pid = raw ? (pid_t)syscall(SYS_fork) : fork();
	if (pid == 0) {
		pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
		pthread_cond_t fresh_cv = PTHREAD_COND_INITIALIZER;
		mu = fresh;
		cv = fresh_cv;
		close(ctl);
		close(sv[0]);
		ctl = sv[1];
		if (wt.active && !wt.done) {
			/* The waiting thread is not copied: its wait does not exist here. */
			memset(&wt, 0, sizeof(wt));
		}
		return;
	}
	int e = errno;
	pthread_mutex_unlock(&mu);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		reply("R %d", -e);
		return;
	}
	char msg[64];
	snprintf(msg, sizeof(msg), "R %d", (int)pid);
	send_packet(msg, sv[0]);
	close(sv[0]);
}

static void signal_target(int sig)
{
	pthread_mutex_lock(&mu);
	if (wt.active && !wt.done)
		pthread_kill(wt.thread, sig);
	else
		raise(sig);
	pthread_mutex_unlock(&mu);
}

static void install_filter(int nowipe, int noinotify)
{
#if defined(__x86_64__)
	const unsigned arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
	const unsigned arch = AUDIT_ARCH_AARCH64;
#else
	if (nowipe || noinotify) {
		fprintf(stderr, "pidlock-explore-agent: no seccomp filter for this architecture\n");
		_exit(112);
	}
	return;
#endif
#if defined(__x86_64__) || defined(__aarch64__)
	struct sock_filter f[32];
	unsigned n = 0;
#define S(code, k) (f[n++] = (struct sock_filter)BPF_STMT(code, k))
#define J(code, k, t, e) (f[n++] = (struct sock_filter)BPF_JUMP(code, k, t, e))
	S(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	J(BPF_JMP | BPF_JEQ | BPF_K, arch, 1, 0);
	S(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	S(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	if (nowipe) {
		J(BPF_JMP | BPF_JEQ | BPF_K, __NR_madvise, 0, 3);
		S(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2]));
		J(BPF_JMP | BPF_JEQ | BPF_K, MADV_WIPEONFORK, 0, 1);
		S(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EINVAL);
		S(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	}
	if (noinotify) {
		J(BPF_JMP | BPF_JEQ | BPF_K, __NR_inotify_init1, 0, 1);
		S(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EMFILE);
#ifdef __NR_inotify_init
		J(BPF_JMP | BPF_JEQ | BPF_K, __NR_inotify_init, 0, 1);
		S(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EMFILE);
#endif
	}
	S(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
#undef S
#undef J
	if (!nowipe && !noinotify)
		return;
	struct sock_fprog prog = { .len = (unsigned short)n, .filter = f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die("PR_SET_NO_NEW_PRIVS");
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		die("PR_SET_SECCOMP");
#endif
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s LIBRARY CONTROL_FD LOCK_PATH [nowipe] [noinotify]\n",
			argv[0]);
		return 2;
	}
	int nowipe = 0, noinotify = 0;
	for (int i = 4; i < argc; i++) {
		if (strcmp(argv[i], "nowipe") == 0)
			nowipe = 1;
		else if (strcmp(argv[i], "noinotify") == 0)
			noinotify = 1;
	}
	ctl = atoi(argv[2]);
	lock_path = argv[3];
	install_filter(nowipe, noinotify);

	void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		fprintf(stderr, "pidlock-explore-agent: %s\n", dlerror());
		return 111;
	}
	p_acquire = bind_sym(lib, "pidlock_acquire", "PIDLOCK_1.0");
	p_release = bind_sym(lib, "pidlock_release", "PIDLOCK_1.0");
	p_update = bind_sym(lib, "pidlock_update", "PIDLOCK_1.0");
	p_fd = bind_sym(lib, "pidlock_fd", "PIDLOCK_1.0");
	p_check = bind_sym(lib, "pidlock_check", "PIDLOCK_1.1");
	p_waiter_new = bind_sym(lib, "pidlock_waiter_new", "PIDLOCK_1.1");
	p_waiter_fd = bind_sym(lib, "pidlock_waiter_fd", "PIDLOCK_1.1");
	p_waiter_try = bind_sym(lib, "pidlock_waiter_try", "PIDLOCK_1.1");
	p_waiter_free = bind_sym(lib, "pidlock_waiter_free", "PIDLOCK_1.1");

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1; /* no SA_RESTART */
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGWINCH, SIG_DFL);
	{
		void *warm[1];
		backtrace(warm, 1); /* loads libgcc now, not in the crash handler */
	}
	signal(SIGSEGV, on_crash);
	signal(SIGBUS, on_crash);
	signal(SIGABRT, on_crash); /* a signal without a handler (ignored by default) */
	getrlimit(RLIMIT_NOFILE, &saved_nofile);

	reply("H %d", (int)getpid());
	char buf[256];
	for (;;) {
		ssize_t n = recv(ctl, buf, sizeof(buf) - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0); /* the explorer is gone: so is every agent */
		buf[n] = '\0';
		char op[32] = "";
		long a = 0, b = 0;
		sscanf(buf, "%31s %ld %ld", op, &a, &b);
		char d[96];
		int fd = L ? p_fd(L) : -1;

		if (strcmp(op, "acq") == 0) {
			cmd_acq((unsigned)a, (int)b);
		} else if (strcmp(op, "rel") == 0) {
			if (!L || wt.active) {
				reply("R none");
				continue;
			}
			int rc = p_release(L);
			L = NULL;
			reply("R %d", rc);
		} else if (strcmp(op, "upd") == 0) {
			if (!L || wt.active) {
				reply("R none");
				continue;
			}
			int rc = p_update(L);
			describe(L, d, sizeof(d));
			reply("R %d 0 %s", rc, d);
		} else if (strcmp(op, "chk") == 0) {
			if (L && !wt.active)
				reply("R %d", p_check(L));
			else
				reply("R none");
		} else if (strcmp(op, "wnew") == 0) {
			if (W) {
				reply("R busy");
				continue;
			}
			int rc = p_waiter_new(lock_path, (unsigned)a, &W);
			if (rc < 0)
				W = NULL;
			reply("R %d", rc);
		} else if (strcmp(op, "wtry") == 0) {
			if (!W || L || wt.active) {
				reply("R none");
				continue;
			}
			pidlock *lk = NULL;
			pid_t holder = 0;
			int rc = p_waiter_try(W, &lk, &holder);
			if (rc == 0)
				L = lk;
			describe(rc == 0 ? lk : NULL, d, sizeof(d));
			reply("R %d %d %s", rc, (int)holder, d);
		} else if (strcmp(op, "wpoll") == 0) {
			if (!W) {
				reply("R none");
				continue;
			}
			struct pollfd p = { .fd = p_waiter_fd(W), .events = POLLIN };
			int r;
			while ((r = poll(&p, 1, (int)a)) < 0 && errno == EINTR)
				;
			reply("R %d", r > 0 ? 1 : 0);
		} else if (strcmp(op, "wfree") == 0) {
			p_waiter_free(W);
			W = NULL;
			reply("R 0");
		} else if (strcmp(op, "fork") == 0 || strcmp(op, "rfork") == 0) {
			cmd_fork(op[0] == 'r');
			/* the child goes on here with its own socket */
		} else if (strcmp(op, "sig") == 0) {
			signal_target(SIGUSR1);
			reply("R 0");
		} else if (strcmp(op, "signh") == 0) {
			signal_target(SIGWINCH);
			reply("R 0");
		} else if (strcmp(op, "close") == 0) {
			reply("R %d", fd >= 0 ? (close(fd) == 0 ? 0 : -errno) : -EBADF);
		} else if (strcmp(op, "dup2") == 0) {
			int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
			int rc = (nul >= 0 && fd >= 0 && dup3(nul, fd, O_CLOEXEC) >= 0) ? 0 : -errno;
			if (nul >= 0)
				close(nul);
			reply("R %d", rc);
		} else if (strcmp(op, "readpid") == 0) {
			char pb[32];
			ssize_t r = -1;
			if (fd >= 0 && lseek(fd, 0, SEEK_SET) == 0)
				r = read(fd, pb, sizeof(pb));
			reply("R %zd", r < 0 ? (ssize_t)-errno : r);
		} else if (strcmp(op, "write") == 0) {
			char pb[32];
			int len = snprintf(pb, sizeof(pb), "%d\n", (int)getpid());
			ssize_t r = fd >= 0 ? write(fd, pb, (size_t)len) : -1;
			reply("R %zd", r < 0 ? (ssize_t)-errno : r);
		} else if (strcmp(op, "emfile") == 0) {
			struct rlimit rl = saved_nofile;
			rl.rlim_cur = a == 1 ? 0 : saved_nofile.rlim_cur;
			emfile_on = a == 1;
			reply("R %d", setrlimit(RLIMIT_NOFILE, &rl) == 0 ? 0 : -errno);
		} else if (strcmp(op, "exit") == 0) {
			_exit(0);
		} else {
			reply("R unknown");
		}
	}
}
