/* pidlock.h: PID lock files whose truth is a kernel lock, not a PID.
 *
 * A pidlock is an open-file-description lock (F_OFD_SETLK) on a file that also says "PID\n"
 * for people, kill(1) and systemd's PIDFile=. The lock is held for as long as the holder keeps
 * the descriptor open, so a crash frees it at once; the PID in the file is a label, never the
 * proof: a PID is reported as the holder's only while the kernel shows that process holding
 * the lock on that very file. Every function returns 0 (or a documented non-negative value) on
 * success and a negative errno on failure; output parameters come last.
 *
 * Fork: a handle belongs to the process that acquired it (or adopted it with pidlock_update()),
 * asked of the kernel with getpid(): a handle inherited by any kind of fork (fork(2), _Fork(),
 * a raw clone) is a copy, whose pidlock_release() only closes its descriptor, never unlinking
 * or unlocking the owner's lock, unless the child first adopted the lock with pidlock_update()
 * (the daemonize flow). Once a child has adopted it, the parent's release only closes the
 * parent's copy. When the owning handle is released, the lock is released for every copy: a
 * forked worker that still has the descriptor does not keep it. A copy does keep the lock when
 * the owner dies without releasing (SIGKILL): the kernel frees the lock only when the last
 * descriptor closes. A wait or a waiter copied into a child never takes the lock through its
 * parent's descriptors: a blocking wait goes on in the child with descriptors of its own, a
 * waiter's pidlock_waiter_try() returns -ECHILD there. Descriptors are O_CLOEXEC.
 *
 * The descriptor (pidlock_fd()): the lock is a lock on its open file, over bytes 0 to 2^62 and
 * more (the range names the owner; lock-file tools see a write lock on the file). A caller may
 * read it, write it (the "PID\n" is only a label), seek it, fstat it and let forked children
 * inherit it. A caller must not close it, dup2() over it, or take or drop fcntl()/flock() locks
 * through it: the library would then find it is no longer its lock (-EBADFD) and touch nothing.
 * No descriptor the library keeps ever uses 0, 1 or 2.
 *
 * Paths: the lock file and every directory above it must be safe from other users: each
 * directory owned by root or the caller's effective user and writable by nobody else unless
 * sticky (like /tmp), each symbolic link on the way owned by root or the caller, the file a
 * regular file of the caller with one link, writable by nobody else. Otherwise -EPERM;
 * pidlock_check_path() says which part and why. A relative path is made absolute at acquire,
 * so a later chdir() changes nothing.
 *
 * Threads: any handle may be used from any thread, one thread at a time. Two acquires of one
 * path in one process conflict exactly as two processes do.
 */
#ifndef PIDLOCK_H
#define PIDLOCK_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(PIDLOCK_BUILDING) && defined(__GNUC__)
#define PIDLOCK_API __attribute__((visibility("default")))
#else
#define PIDLOCK_API
#endif

#define PIDLOCK_VERSION_MAJOR 1
#define PIDLOCK_VERSION_MINOR 2
#define PIDLOCK_VERSION_PATCH 0
#define PIDLOCK_VERSION_NUMBER \
	(PIDLOCK_VERSION_MAJOR * 10000 + PIDLOCK_VERSION_MINOR * 100 + PIDLOCK_VERSION_PATCH)

/** The lock handle. Opaque: only pointers to it exist outside the library. */
typedef struct pidlock pidlock;

/** Flags for pidlock_acquire(), or-ed together. */
enum pidlock_flags {
	/** Also honour a PID written by code that holds no kernel lock: an unlocked file whose
	 *  PID is alive, is not the caller, is not 1 (an init, never a legacy daemon's PID left
	 *  from an earlier container or boot), and runs wholly as the file's owner (real and
	 *  effective uid alike: a set-user-ID program another user started never counts) counts
	 *  as held. No clock is compared, so no step of the wall clock changes the answer; the
	 *  price is that a PID reused by another process of the same user keeps the file held
	 *  until it exits. */
	PIDLOCK_CHECK_PID = 1 << 0,
	/** fdatasync() the file after writing the PID (off by default: a PID file on tmpfs or
	 *  /run does not outlive a reboot anyway). */
	PIDLOCK_FSYNC = 1 << 1,
	/** On release, empty the file but leave it in place instead of unlinking it. */
	PIDLOCK_KEEP_FILE = 1 << 2,
	/** While waiting, return -EINTR when a signal handler runs (whether or not it was
	 *  installed with SA_RESTART), instead of waiting on after it. Without this flag no
	 *  signal ends a wait: handlers run and the wait goes on, with the same deadline.
	 *  During a wait, signals are held back outside its sleep (and delivered there at once),
	 *  so a signal that arrives between two sleeps is never lost. */
	PIDLOCK_INTERRUPTIBLE = 1 << 3,
	/** Since 1.1. Create the file readable by other users (0644 minus umask) for monitoring
	 *  agents that read PID files as another user. The cost: any user who can open the file
	 *  can hold a read lock on it, which blocks acquires (-EBUSY) until that reader lets go.
	 *  Without it a new file is 0600 and an existing file is made 0600 when acquired. */
	PIDLOCK_READABLE = 1 << 4,
};

/** pidlock_acquire() timeout: wait until the lock is free, however long that takes. */
#define PIDLOCK_WAIT_FOREVER (-1)

/**
 * Take the lock at @p path and record the caller's PID in it.
 *
 * The file is created (mode 0600, or 0644 minus umask with PIDLOCK_READABLE; missing parent
 * directories 0700 whatever the umask) when absent. The PID is written only once the lock is
 * held; a reader sees the whole "PID\n" or an empty file, never part of one. An empty or
 * unparsable file proves nothing: if nobody holds the lock it is reclaimed.
 *
 * Waiting (timeout_ms != 0) sleeps on inotify events of the file and retries when it may have
 * changed hands: the holder's release, close or death, or the file leaving the path (then the
 * path is opened again). The inotify descriptor of a timed or endless wait, with an epoll
 * descriptor that proves it is still the library's (both close-on-exec), is kept for the
 * process's next wait.
 *
 * @param path        the lock file
 * @param flags       enum pidlock_flags
 * @param timeout_ms  0: fail at once; > 0: wait up to that many milliseconds;
 *                    PIDLOCK_WAIT_FOREVER: wait as long as it takes
 * @param[out] ret_lock    the new handle, NULL on failure
 * @param[out] ret_holder  may be NULL; on -EAGAIN the holder's PID, or -1 when the PID in the
 *                         file cannot be shown to hold the lock (not written yet, empty,
 *                         malformed, a process that does not hold it, a PID of another PID
 *                         namespace, or a process this caller may not inspect); 0 otherwise
 * @return 0 on success, or
 *   -EAGAIN        another process (or another handle in this process) holds the lock, also
 *                  when a wait timed out;
 *   -EBUSY         (since 1.1) the file is read-locked by a process that is not a holder
 *                  (holders never take read locks): another user's reader of a file made
 *                  with PIDLOCK_READABLE, also when a wait timed out;
 *   -EINTR         a signal handler ran while waiting and PIDLOCK_INTERRUPTIBLE was given;
 *   -EINVAL        NULL or empty path, NULL ret_lock, unknown flags, timeout below -1, or the
 *                  path names a FIFO, device or socket;
 *   -ENAMETOOLONG  the path or a component of it is too long;
 *   -ELOOP         the path is a symbolic link (never followed);
 *   -EISDIR        the path is a directory, or ends in '/', "." or "..";
 *   -EPERM         the path is not safe from other users (see Paths above): the file belongs
 *                  to another user, has more than one link or is writable by others, or a
 *                  directory or symbolic link on the way belongs to, or a directory is
 *                  writable by, another user; pidlock_check_path() tells which;
 *   -EACCES, -EROFS, -ENOSPC, -EDQUOT, -EMFILE, -ENFILE, -ENOMEM, -ENOLCK, -EIO, -ENOTDIR,
 *   -ENOENT (a parent could not be made)   from the system calls underneath.
 * A failed acquire leaves nothing behind that it created, directories included.
 */
PIDLOCK_API int pidlock_acquire(const char *path, unsigned flags, int timeout_ms,
				pidlock **ret_lock, pid_t *ret_holder);

/**
 * Release @p lock and free it. NULL is accepted and does nothing.
 *
 * The holder unlinks the file only while it still holds the lock and only if the path still
 * names the locked file (with PIDLOCK_KEEP_FILE, or while another process stands in line for
 * it in an endless wait, it empties the file and leaves it). A copy inherited by fork(), or a
 * copy whose lock a child adopted with pidlock_update(), is only closed. The handle is freed
 * whatever happens.
 *
 * @return 0, or the first error met: -EBADFD (the descriptor no longer holds this handle's
 *         lock: it was closed behind the library's back, its number now names another file
 *         or another open of this one, or a child that adopted the lock has already released
 *         it; nothing was closed, emptied or unlinked), -EMFILE (no descriptor was left to
 *         ask /proc whether a child adopted the lock, and the file names another process:
 *         only the descriptor was closed, and a forked copy may still hold the lock), -EACCES,
 *         -EROFS, -EPERM, -EIO (unlink, ftruncate, close).
 */
PIDLOCK_API int pidlock_release(pidlock *lock);

/**
 * Record the calling process's PID in the file: after fork(), the child that carries on
 * calls this and from then on owns the lock; the parent's release only closes its copy.
 *
 * Only a process running as the file's owner takes the lock over: a worker that changed to
 * another user (privilege separation) gets -EPERM (since 1.2) and keeps a mere copy.
 *
 * @return 0, -EINVAL for a NULL handle, -EBADFD (as for pidlock_release(): nothing written),
 *         -EPERM (since 1.2) the caller's effective user does not own the file,
 *         -ESTALE (the parent released the lock before this update: the file is gone, or the
 *         lock was let go and another process holds it now), or -EIO, -ENOSPC, ... from
 *         ftruncate/pwrite/fdatasync.
 */
PIDLOCK_API int pidlock_update(pidlock *lock);

/**
 * Since 1.1. Whether @p lock still has its locked file: programs close descriptors they do not
 * know about (closefrom(), close_range(), python-daemon, `exec 3<&-`), and the number may then
 * name another file.
 * @return 0 when the descriptor is still the locked file, -EBADFD when it was closed or now
 *         names another file (the lock is lost), -EINVAL for NULL.
 */
PIDLOCK_API int pidlock_check(const pidlock *lock);

/** The locked descriptor (O_CLOEXEC), or -EINVAL for NULL. */
PIDLOCK_API int pidlock_fd(const pidlock *lock);
/** The path given to pidlock_acquire() (owned by the handle), or NULL for NULL. */
PIDLOCK_API const char *pidlock_path(const pidlock *lock);
/** The PID recorded in the file by this handle, or -EINVAL for NULL. */
PIDLOCK_API pid_t pidlock_pid(const pidlock *lock);

/**
 * Who holds the lock at @p path, found without taking anything (a probe never makes a
 * concurrent acquire fail). Nothing is created.
 *
 * @param[out] ret_pid may be NULL; the holder's PID, -1 while held by a process the kernel does
 *                     not show (as for pidlock_acquire()'s ret_holder), 0 when free
 * The path must be safe as for pidlock_acquire(), and the file belong to root or the caller:
 * what another user put at the path is never reported as the holder.
 * @return 1 held, 0 free (no file, or a file nobody holds, or only read-locked: a reader is
 *         not a holder), or -EPERM (unsafe path, see pidlock_check_path()), -EINVAL, -ELOOP,
 *         -EISDIR, -EACCES, -ENAMETOOLONG, -ENOTDIR, -EIO, -EMFILE.
 */
PIDLOCK_API int pidlock_holder(const char *path, pid_t *ret_pid);

/**
 * Since 1.1. Whether process @p pid holds the lock on the file at @p path, as the kernel
 * shows it (a lock line in /proc/PID/fdinfo for that file, whose range names @p pid as its
 * owner, on a descriptor open for writing). Since 1.2 the process must also run with the file
 * owner's effective uid: a helper of another user that inherited a copy of the descriptor is
 * not the holder. The PID in the file is not consulted: this is what a command must ask
 * before it signals a PID.
 * @return 1 it holds it, 0 it does not (or the file is missing), or -EACCES (the caller may
 *         not inspect that process), -ENOSYS (no /proc here), -EINVAL, and the errors of
 *         pidlock_holder().
 */
PIDLOCK_API int pidlock_holds(const char *path, pid_t pid);

/**
 * Since 1.1. Whether @p path is safe to lock (see Paths above), without creating anything.
 * @param[out] why  may be NULL; on -EPERM (and other errors) a sentence naming the file or
 *                  directory and what is wrong with it, NUL-terminated, cut to @p size
 * @return 0 safe (missing parts are fine: they would be made 0700), -EPERM unsafe, or the
 *         errors of pidlock_acquire() about paths (-EINVAL, -ENAMETOOLONG, -ELOOP, -EISDIR,
 *         -ENOTDIR, -EACCES).
 */
PIDLOCK_API int pidlock_check_path(const char *path, char *why, size_t size);

/**
 * The PID recorded at @p path: exactly "N\n" or "N" with N in 1..INT_MAX.
 *
 * @return the PID (> 0); 0 when the file is missing, empty or malformed; or a negative errno
 *         for other failures (-EINVAL, -ELOOP, -EISDIR, -EACCES, -EIO, ...).
 */
PIDLOCK_API int pidlock_read_pid(const char *path);

/**
 * Whether process @p pid exists (kill(pid, 0); EPERM counts as alive).
 * @return 1 alive, 0 not; 0 for pid <= 0 and pid > INT_MAX, which would signal a process
 *         group or every process.
 */
PIDLOCK_API int pidlock_pid_alive(long long pid);

/**
 * The default lock path for application @p app, the same for one effective user in every
 * environment it runs from (login shell, ssh, sudo, cron, a systemd service): no environment
 * variable is read. "/run/<app>/daemon.lock" for root; for any other user
 * "<home>/.local/share/<app>/daemon.lock" with home from the password database (getpwuid()),
 * not $HOME. ($XDG_RUNTIME_DIR exists only during a login session, so a cron job or a
 * service would get another path and a second instance would start.)
 *
 * @param[out] buf   receives the path, NUL-terminated; NULL (with size 0) to ask the length
 * @param      size  the size of buf
 * @return the path's length, or -EINVAL (NULL/empty app, app with '/' or "..", a relative or
 *         root home), -ENOENT (the user has no password entry or no home), -ENAMETOOLONG,
 *         -ERANGE (buf too small).
 */
PIDLOCK_API int pidlock_default_path(const char *app, char *buf, size_t size);

/** "<dir>/daemon.lock" into @p buf (as pidlock_default_path() does); returns its length, or
 *  -EINVAL (NULL or empty dir), -ENAMETOOLONG, -ERANGE. */
PIDLOCK_API int pidlock_path_for_dir(const char *dir, char *buf, size_t size);

/** A message for a pidlock return code (negative errno); never NULL. */
PIDLOCK_API const char *pidlock_strerror(int err);

/** The loaded library's version, "MAJOR.MINOR.PATCH". */
PIDLOCK_API const char *pidlock_version(void);

/** Since 1.1. The locking primitive of the loaded library: "ofd" (open-file-description
 *  locks) or "flock" (the portable fallback, see pidlock(3) for what it cannot do). */
PIDLOCK_API const char *pidlock_lock_method(void);

/**
 * Since 1.1. A waiter: waiting for the lock inside an event loop. Its descriptor becomes
 * readable whenever the lock may have changed hands (and at once after pidlock_waiter_new(), so
 * a loop tries first); pidlock_waiter_try() then never blocks. The wake-up causes: the
 * holder's release (unlinking or PIDLOCK_KEEP_FILE), its death, its close of a lock it never
 * wrote a PID into, the file leaving the path, and a retry timer while the kernel has not yet
 * dropped a closed holder's lock or when no event can come (a PID-only holder under
 * PIDLOCK_CHECK_PID). pidlock_acquire() waits with the same machinery.
 */
typedef struct pidlock_waiter pidlock_waiter;

/** Start waiting for the lock at @p path with pidlock_acquire()'s @p flags. Missing
 *  directories are made now (and removed by pidlock_waiter_free() if no lock was taken); the
 *  file only by a try. @return 0, or the path errors of pidlock_acquire(), -ENOMEM, -EMFILE. */
PIDLOCK_API int pidlock_waiter_new(const char *path, unsigned flags, pidlock_waiter **ret);
/** The descriptor to watch for readability (close-on-exec; owned by the waiter), or -EINVAL. */
PIDLOCK_API int pidlock_waiter_fd(const pidlock_waiter *waiter);
/**
 * Try once, without blocking. @return 0 with *ret_lock the new handle (the waiter can then be
 * freed); -EAGAIN still held (*ret_holder as for pidlock_acquire(); wait for the descriptor
 * again); -EBUSY read-locked by a reader; -EBADFD a descriptor the waiter keeps between calls
 * was closed behind its back (nothing of what now has its number is read or closed); -ECHILD
 * (since 1.2) the waiter was made by another process and copied into this one by fork (free it
 * and make a new one); or an error of pidlock_acquire() (the waiter is done: free it).
 */
PIDLOCK_API int pidlock_waiter_try(pidlock_waiter *waiter, pidlock **ret_lock, pid_t *ret_holder);
/** Stop waiting: closes the waiter's descriptors and frees it (in a forked copy, only the
 *  copy's descriptors: nothing is removed from the parent's). NULL is accepted. */
PIDLOCK_API void pidlock_waiter_free(pidlock_waiter *waiter);

/**
 * Since 1.2. The sentence that explains the last failure of a pidlock call in the calling
 * thread: which directory, file or process, and what is wrong with it (for example "directory
 * /tmp/x belongs to uid 65534, not to root or the caller"), worded once here for the command
 * and every binding. Calls that fail with nothing more to say than pidlock_strerror() leave
 * NULL. Valid until the thread's next pidlock call.
 */
PIDLOCK_API const char *pidlock_last_error(void);

/** For __attribute__((cleanup)): releases *lockp and sets it to NULL. */
PIDLOCK_API void pidlock_releasep(pidlock **lockp);

#define _pidlock_cleanup_ __attribute__((cleanup(pidlock_releasep)))

#ifdef __cplusplus
}
#endif

#endif /* PIDLOCK_H */
