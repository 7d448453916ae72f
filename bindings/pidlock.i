/* pidlock.i: the one SWIG interface for Python and Lua.
 *
 * The generated module (pidlock_core) is deliberately low level: the C functions under their
 * short names, paths as byte strings, the lock as an owned handle. The Python package
 * (python/pidlock) and the Lua module (bindings/lua/pidlock.lua) build their APIs over it.
 * Every decision about the lock stays in C; this file only translates.
 *
 * Errors: each C function that returns a negative errno has its return value marked with one
 * of the PL_STATUS typemaps below, and those typemaps are the one place where a negative return
 * becomes the language's error: an exception made by pidlock._errors.error() in Python,
 * `nil, message, errno, holder_pid` in Lua. The path and the holder's PID the message needs
 * are kept in a per-thread context filled in by the argument typemaps of the same call. */
%module pidlock_core

%{
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include "pidlock.h"

/* What the error of the current call needs to know besides the code. Per thread: in Python
 * the GIL is released while acquire waits, so two threads can be in here at once. */
static _Thread_local struct {
	const char *path;
	pid_t holder;
} pl_call;

static void pl_call_reset(void)
{
	pl_call.path = NULL;
	pl_call.holder = 0;
}
%}

/* The opaque handle, seen by SWIG as a class so that the wrapper owns it: a lock whose
 * scripting-side object is lost without a release is released when the wrapper is collected
 * (this is also the only collector LuaJIT runs for it). release() disowns it first. */
typedef int pid_t; /* for SWIG only, as on Linux */
%nodefaultctor pidlock;
typedef struct pidlock {} pidlock;
%extend pidlock {
	~pidlock() { pidlock_release($self); }
}
%delobject pidlock_release;

/* ---- arguments ---- */

/* Every path argument is remembered for the error message. */
%typemap(check) const char *path {
	pl_call.path = $1;
}

/* The holder's PID goes straight into the context: the error typemap sees only the return. */
%typemap(in, numinputs=0) pid_t *ret_holder {
	pl_call.holder = 0;
	$1 = &pl_call.holder;
}
%typemap(argout) pid_t *ret_holder "";

%typemap(in, numinputs=0) pid_t *ret_pid (pid_t tmp = 0) {
	$1 = &tmp;
}

%typemap(in, numinputs=0) pidlock **ret_lock (pidlock *tmp = NULL) {
	$1 = &tmp;
}

/* Fixed room for a path; the C function reports -ERANGE/-ENAMETOOLONG beyond it. */
%typemap(in, numinputs=0) (char *buf, size_t size) (char tmp[PATH_MAX]) {
	$1 = tmp;
	$2 = sizeof tmp;
}

/* ---- the language-specific halves ---- */

#if defined(SWIGPYTHON)
/* Paths are bytes both ways: a file name need not be valid UTF-8. */
%begin %{
#define SWIG_PYTHON_STRICT_BYTE_CHAR
%}

%{
/* The one constructor of Python errors, shared with the CFFI backend: pidlock._errors.error(). */
static void pl_raise(int rc)
{
	PyObject *mod, *exc, *path;

	mod = PyImport_ImportModule("pidlock._errors");
	if (!mod)
		return;
	if (pl_call.path) {
		path = PyBytes_FromString(pl_call.path);
	} else {
		path = Py_None;
		Py_INCREF(path);
	}
	exc = path ? PyObject_CallMethod(mod, "error", "iOi", -rc, path, (int)pl_call.holder) : NULL;
	if (exc) {
		PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
		Py_DECREF(exc);
	}
	Py_XDECREF(path);
	Py_DECREF(mod);
}
%}

%typemap(out) int PL_STATUS {
	if ($1 < 0) {
		pl_raise($1);
		pl_call_reset();
		SWIG_fail;
	}
	pl_call_reset();
	$result = PyLong_FromLong($1);
}
%typemap(out) int PL_STATUS_VOID {
	if ($1 < 0) {
		pl_raise($1);
		pl_call_reset();
		SWIG_fail;
	}
	pl_call_reset();
	$result = SWIG_Py_Void();
}
%typemap(argout) pid_t *ret_pid {
	$result = SWIG_Python_AppendOutput($result, PyLong_FromLong(*$1));
}
%typemap(argout) pidlock **ret_lock {
	$result = SWIG_Python_AppendOutput($result,
		SWIG_NewPointerObj(*$1, $*1_descriptor, SWIG_POINTER_OWN));
}
%typemap(argout) (char *buf, size_t size) {
	$result = SWIG_Python_AppendOutput($result, PyBytes_FromString($1));
}
/* Only acquire can wait; only it gives up the GIL (module built with -threads). */
%nothread;
%thread pidlock_acquire;

#elif defined(SWIGLUA)
%{
/* io.open's convention: nil, message, errno; plus the holder's PID for a held lock. */
static int pl_push_error(lua_State *L, int rc)
{
	char msg[PATH_MAX + 128];

	if (rc == -EAGAIN && pl_call.holder > 0)
		snprintf(msg, sizeof msg, "already running as PID %d (lock file: %s)",
			 (int)pl_call.holder, pl_call.path);
	else if (rc == -EAGAIN)
		snprintf(msg, sizeof msg, "already running (PID not yet written; lock file: %s)",
			 pl_call.path);
	else if (pl_call.path)
		snprintf(msg, sizeof msg, "%s: %s", pl_call.path, pidlock_strerror(rc));
	else
		snprintf(msg, sizeof msg, "%s", pidlock_strerror(rc));
	lua_pushnil(L);
	lua_pushstring(L, msg);
	lua_pushinteger(L, -rc);
	if (rc == -EAGAIN)
		lua_pushinteger(L, pl_call.holder);
	else
		lua_pushnil(L);
	pl_call_reset();
	return 4;
}
%}

/* The codes a Lua caller compares the third result with. */
%constant int EAGAIN = EAGAIN;
%constant int EINVAL = EINVAL;
%constant int EBADFD = EBADFD;
%constant int EBUSY = EBUSY;

/* Lua 5.3 and 5.4 have an integer subtype, and SWIG's default typemap pushes every C int as
 * a float (a PID printed as 15019.0). PIDs, descriptors and counts are integers. */
%typemap(out) int, pid_t {
	lua_pushinteger(L, (lua_Integer)$1);
	SWIG_arg++;
}

%typemap(out) int PL_STATUS {
	if ($1 < 0)
		return pl_push_error(L, $1);
	pl_call_reset();
	lua_pushinteger(L, $1);
	SWIG_arg++;
}
%typemap(out) int PL_STATUS_VOID {
	if ($1 < 0)
		return pl_push_error(L, $1);
	pl_call_reset();
}
%typemap(argout) pid_t *ret_pid {
	lua_pushinteger(L, *$1);
	SWIG_arg++;
}
%typemap(argout) pidlock **ret_lock {
	SWIG_NewPointerObj(L, *$1, $*1_descriptor, 1);
	SWIG_arg++;
}
%typemap(argout) (char *buf, size_t size) {
	lua_pushstring(L, $1);
	SWIG_arg++;
}
#else
#error "pidlock.i is written for Python and Lua"
#endif

/* ---- the C API ---- */

%apply int PL_STATUS_VOID {
	int pidlock_acquire, int pidlock_release, int pidlock_update, int pidlock_check,
	int pidlock_default_path
};
%apply int PL_STATUS { int pidlock_holder, int pidlock_read_pid };

/* The flags, under their C names minus the prefix. */
%rename("%(strip:[PIDLOCK_])s", %$isenumitem) "";
enum pidlock_flags {
	PIDLOCK_CHECK_PID = 1 << 0,
	PIDLOCK_FSYNC = 1 << 1,
	PIDLOCK_KEEP_FILE = 1 << 2,
	PIDLOCK_INTERRUPTIBLE = 1 << 3,
};
#define WAIT_FOREVER (-1)

%rename("%(strip:[pidlock_])s") "";

int pidlock_acquire(const char *path, unsigned flags, int timeout_ms, pidlock **ret_lock,
		    pid_t *ret_holder);
int pidlock_release(pidlock *lock);
int pidlock_update(pidlock *lock);
int pidlock_check(const pidlock *lock);
int pidlock_fd(const pidlock *lock);
const char *pidlock_path(const pidlock *lock);
pid_t pidlock_pid(const pidlock *lock);
int pidlock_holder(const char *path, pid_t *ret_pid);
int pidlock_read_pid(const char *path);
int pidlock_pid_alive(long long pid);
int pidlock_default_path(const char *app, char *buf, size_t size);
const char *pidlock_version(void);

/* ---- the waiter (issue 16): a descriptor for the host's event loop ---- */

/* Owned like the lock: a waiter lost without waiter_free() is freed by its collector. */
%nodefaultctor pidlock_waiter;
typedef struct pidlock_waiter {} pidlock_waiter;
%extend pidlock_waiter {
	~pidlock_waiter() { pidlock_waiter_free($self); }
}
%delobject pidlock_waiter_free;
%apply pidlock **ret_lock { pidlock_waiter **ret };
%typemap(in, numinputs=0) pidlock_waiter **ret (pidlock_waiter *tmp = NULL) {
	$1 = &tmp;
}
%apply int PL_STATUS_VOID { int pidlock_waiter_new, int pl_waiter_try };

/* try() with the path beside it, so that its failures (a held lock included) go through the
 * same typemaps as acquire's: AlreadyRunning with the holder in Python, nil, message, errno,
 * holder in Lua. The path is only read for the message. */
%{
static int pl_waiter_try(pidlock_waiter *waiter, const char *path, pidlock **ret_lock,
			 pid_t *ret_holder)
{
	(void)path;
	return pidlock_waiter_try(waiter, ret_lock, ret_holder);
}
%}
%rename(waiter_try) pl_waiter_try;

int pidlock_waiter_new(const char *path, unsigned flags, pidlock_waiter **ret);
int pidlock_waiter_fd(const pidlock_waiter *waiter);
int pl_waiter_try(pidlock_waiter *waiter, const char *path, pidlock **ret_lock,
		  pid_t *ret_holder);
void pidlock_waiter_free(pidlock_waiter *waiter);
