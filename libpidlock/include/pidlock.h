/* pidlock.h: PID lock files whose truth is a kernel lock, not a PID.
 *
 * A pidlock is an open-file-description lock (F_OFD_SETLK) on a file that also says "PID\n"
 * for people, kill(1) and systemd's PIDFile=. The lock is held for as long as the holder keeps
 * the descriptor open, so a crash frees it at once; the PID in the file is a label, never the
 * proof. Every function returns 0 (or a documented non-negative value) on success and a
 * negative errno on failure; output parameters come last.
 *
 * Fork: a handle inherited by fork(2) is a copy. The child's pidlock_release() only closes its
 * descriptor, never unlinking or unlocking the parent's lock, unless the child first adopted
 * the lock with pidlock_update() (the daemonize flow). Once a child has adopted it, the
 * parent's release only closes the parent's copy. Descriptors are O_CLOEXEC.
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
#define PIDLOCK_VERSION_MINOR 0
#define PIDLOCK_VERSION_PATCH 0
#define PIDLOCK_VERSION_NUMBER \
	(PIDLOCK_VERSION_MAJOR * 10000 + PIDLOCK_VERSION_MINOR * 100 + PIDLOCK_VERSION_PATCH)

/** The lock handle. Opaque: only pointers to it exist outside the library. */
typedef struct pidlock pidlock;

/** Flags for pidlock_acquire(), or-ed together. */
enum pidlock_flags {
	/** Also honour a PID written by code that holds no kernel lock: an unlocked file whose
	 *  PID is alive, is not the caller, and whose process started before the file was last
	 *  written counts as held. A PID whose process started later is a reused PID: reclaimed. */
	PIDLOCK_CHECK_PID = 1 << 0,
	/** fdatasync() the file after writing the PID (off by default: a PID file on tmpfs or
	 *  /run does not outlive a reboot anyway). */
	PIDLOCK_FSYNC = 1 << 1,
	/** On release, empty the file but leave it in place instead of unlinking it. */
	PIDLOCK_KEEP_FILE = 1 << 2,
	/** While waiting, return -EINTR when a signal handler installed without SA_RESTART
	 *  runs (Python's are), instead of waiting on after it. */
	PIDLOCK_INTERRUPTIBLE = 1 << 3,
};

/** pidlock_acquire() timeout: wait until the lock is free, however long that takes. */
#define PIDLOCK_WAIT_FOREVER (-1)

/**
 * Take the lock at @p path and record the caller's PID in it.
 *
 * The file is created (mode 0644 minus umask; missing parent directories 0700) when absent.
 * The PID is written only once the lock is held; a reader sees the whole "PID\n" or an empty
 * file, never part of one. An empty or unparsable file proves nothing: if nobody holds the
 * lock it is reclaimed.
 *
 * @param path        the lock file
 * @param flags       enum pidlock_flags
 * @param timeout_ms  0: fail at once; > 0: wait up to that many milliseconds (the wait sleeps
 *                    on an inotify watch of the file; the inotify descriptor, close-on-exec,
 *                    is kept open for the process's next timed wait);
 *                    PIDLOCK_WAIT_FOREVER: wait as long as it takes (blocked in the kernel)
 * @param[out] ret_lock    the new handle, NULL on failure
 * @param[out] ret_holder  may be NULL; on -EAGAIN the holder's PID, or -1 while the holder has
 *                         not written one yet (the file is empty, malformed, or still names a
 *                         process that is gone or started after the file was written); 0
 *                         otherwise
 * @return 0 on success, or
 *   -EAGAIN        another process (or another handle in this process) holds the lock, also
 *                  when a wait timed out;
 *   -EINTR         a signal arrived while waiting and PIDLOCK_INTERRUPTIBLE was given;
 *   -EINVAL        NULL or empty path, NULL ret_lock, unknown flags, timeout below -1, or the
 *                  path names a FIFO, device or socket;
 *   -ENAMETOOLONG  the path or a component of it is too long;
 *   -ELOOP         the path is a symbolic link (never followed);
 *   -EISDIR        the path is a directory;
 *   -EPERM         the file belongs to a user other than the caller's effective user;
 *   -EACCES, -EROFS, -ENOSPC, -EDQUOT, -EMFILE, -ENFILE, -ENOMEM, -ENOLCK, -EIO, -ENOTDIR,
 *   -ENOENT (a parent could not be made)   from the system calls underneath.
 * A failed acquire leaves no file behind that it created.
 */
PIDLOCK_API int pidlock_acquire(const char *path, unsigned flags, int timeout_ms,
				pidlock **ret_lock, pid_t *ret_holder);

/**
 * Release @p lock and free it. NULL is accepted and does nothing.
 *
 * The holder unlinks the file only while it still holds the lock and only if the path still
 * names the locked file (with PIDLOCK_KEEP_FILE it empties the file and leaves it). A copy inherited by fork(), or a copy whose lock a child adopted with
 * pidlock_update(), is only closed. The handle is freed whatever happens.
 *
 * @return 0, or the first error met: -EACCES, -EROFS, -EPERM, -EIO (unlink, ftruncate,
 *         close).
 */
PIDLOCK_API int pidlock_release(pidlock *lock);

/**
 * Record the calling process's PID in the file: after fork(), the child that carries on
 * calls this and from then on owns the lock; the parent's release only closes its copy.
 *
 * @return 0, -EINVAL for a NULL handle, or -EIO, -ENOSPC, ... from ftruncate/pwrite/fdatasync.
 */
PIDLOCK_API int pidlock_update(pidlock *lock);

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
 * @param[out] ret_pid may be NULL; the holder's PID, -1 while held but not yet written (as
 *                     for pidlock_acquire()'s ret_holder), 0 when free
 * @return 1 held, 0 free (no file, or a file nobody holds), or -EINVAL, -ELOOP, -EISDIR,
 *         -EACCES, -ENAMETOOLONG, -ENOTDIR, -EIO, -EMFILE.
 */
PIDLOCK_API int pidlock_holder(const char *path, pid_t *ret_pid);

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
 * The default lock path for application @p app: "<base>/<app>/daemon.lock" with base
 * $XDG_RUNTIME_DIR when set and absolute, else /run for root, else $XDG_DATA_HOME when set,
 * else $HOME/.local/share.
 *
 * @param[out] buf   receives the path, NUL-terminated; NULL (with size 0) to ask the length
 * @param      size  the size of buf
 * @return the path's length, or -EINVAL (NULL/empty app, app with '/' or "..", relative or
 *         root base), -ENOENT (no base: HOME unset), -ENAMETOOLONG, -ERANGE (buf too small).
 */
PIDLOCK_API int pidlock_default_path(const char *app, char *buf, size_t size);

/** "<dir>/daemon.lock" into @p buf (as pidlock_default_path() does); returns its length, or
 *  -EINVAL (NULL or empty dir), -ENAMETOOLONG, -ERANGE. */
PIDLOCK_API int pidlock_path_for_dir(const char *dir, char *buf, size_t size);

/** A message for a pidlock return code (negative errno); never NULL. */
PIDLOCK_API const char *pidlock_strerror(int err);

/** The loaded library's version, "MAJOR.MINOR.PATCH". */
PIDLOCK_API const char *pidlock_version(void);

/** For __attribute__((cleanup)): releases *lockp and sets it to NULL. */
PIDLOCK_API void pidlock_releasep(pidlock **lockp);

#define _pidlock_cleanup_ __attribute__((cleanup(pidlock_releasep)))

#ifdef __cplusplus
}
#endif

#endif /* PIDLOCK_H */
