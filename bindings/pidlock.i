/* pidlock.i: the one SWIG interface for Python and Lua.
 *
 * SWIG reads pidlock.h itself (%include below): every function, flag and constant of the
 * header appears in both languages without an edit here. What is not for scripts is named in
 * the %ignore list; what differs between the languages is in the SWIGPYTHON and SWIGLUA
 * blocks (the libsolv way: one file, one block per language).
 *
 * The generated module (pidlock_core) is deliberately low level: the C functions under their
 * short names (pidlock_acquire -> acquire), the flags as FLAG_<NAME> (PIDLOCK_READABLE ->
 * FLAG_READABLE, so that the layers above can list them without a list of their own), the
 * other constants without their prefix (WAIT_FOREVER), paths as byte strings in Python, the
 * lock as an owned handle. The Python package (python/pidlock) and the Lua module
 * (bindings/lua/pidlock.lua) build their APIs over it. Every decision about the lock stays in
 * C; this file only translates.
 *
 * Errors: each C function that returns a negative errno has its return value marked with one
 * of the PL_STATUS typemaps below, and those typemaps are the one place where a negative return
 * becomes the language's error: an exception made by pidlock._errors.error() in Python,
 * `nil, message, errno, holder_pid` in Lua. The message is pidlock_message.h's (the library's
 * own sentence, pidlock_last_error(), with the path and the holder). The path and the holder's
 * PID are kept in a per-thread context filled in by the argument typemaps of the same call. */
%module pidlock_core

/* Every C file of the project asks for the GNU API itself (PATH_MAX, pipe2, ...); so does the
 * generated wrapper, before anything includes a system header. */
%begin %{
#define _GNU_SOURCE
%}

%{
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "pidlock.h"
#include "pidlock_message.h"

/* What the error of the current call needs to know besides the code. Per thread: in Python
 * the GIL is released while acquire runs, so two threads can be in here at once. */
static _Thread_local struct {
	const char *path;
	pid_t holder;
} pl_call;

static void pl_call_reset(void)
{
	pl_call.path = NULL;
	pl_call.holder = 0;
}

/* check_path() for scripts: 0 with an empty sentence when safe, 0 with the sentence when not
 * (-EPERM is an answer, not a failure), the other errors as they are. */
static int pl_check_path(const char *path, char *why, size_t size)
{
	int r;

	why[0] = '\0';
	r = pidlock_check_path(path, why, size);
	if (r != -EPERM)
		return r;
	if (!why[0])
		snprintf(why, size, "%s", pidlock_strerror(r));
	return 0;
}

/* try() with the path beside it, so that its failures (a held lock included) go through the
 * same typemaps as acquire's. The path is only read for the message. */
static int pl_waiter_try(pidlock_waiter *waiter, const char *path, pidlock **ret_lock,
			 pid_t *ret_holder)
{
	(void)path;
	return pidlock_waiter_try(waiter, ret_lock, ret_holder);
}
%}

typedef int pid_t; /* for SWIG only, as on Linux */

/* ---- what scripts do not get ---- */
%ignore pidlock_releasep;     /* the C cleanup attribute's helper; scripts have release() */
%ignore _pidlock_cleanup_;
%ignore pidlock_strerror;     /* inside every error's message */
%ignore pidlock_last_error;   /* inside every error's message */
%ignore pidlock_check_path;   /* as pl_check_path: the sentence is the answer */
%ignore pidlock_waiter_try;   /* as pl_waiter_try: the path for the message */
%ignore PIDLOCK_API;
%ignore PIDLOCK_H;

/* ---- names ---- */
%rename("%(regex:/^PIDLOCK_(.*)$/FLAG_\\1/)s", %$isenumitem) "";
%rename("%(strip:[PIDLOCK_])s", %$isconstant) "";
%rename("%(strip:[pidlock_])s", %$isfunction) "";
%rename(check_path) pl_check_path;
%rename(waiter_try) pl_waiter_try;

/* ---- the handles ----
 * Seen by SWIG as classes so that the wrapper owns them: a lock or waiter whose scripting-side
 * object is lost without a release is released when the wrapper is collected (this is also
 * the only collector LuaJIT runs for it). release() and waiter_free() disown them first. */
%nodefaultctor pidlock;
struct pidlock {};
%extend pidlock {
	~pidlock() { pidlock_release($self); }
}
%delobject pidlock_release;

%nodefaultctor pidlock_waiter;
struct pidlock_waiter {};
%extend pidlock_waiter {
	~pidlock_waiter() { pidlock_waiter_free($self); }
}
%delobject pidlock_waiter_free;

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
%typemap(in, numinputs=0) pidlock_waiter **ret (pidlock_waiter *tmp = NULL) {
	$1 = &tmp;
}

/* Fixed room for a path or a sentence; the C function reports -ERANGE/-ENAMETOOLONG beyond. */
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
	char msg[PATH_MAX + 1024];

	/* First: the library's reason lasts only until this thread's next pidlock call. */
	pidlock_message(msg, sizeof msg, rc, pl_call.path, pl_call.holder);
	mod = PyImport_ImportModule("pidlock._errors");
	if (!mod)
		return;
	if (pl_call.path) {
		path = PyBytes_FromString(pl_call.path);
	} else {
		path = Py_None;
		Py_INCREF(path);
	}
	exc = path ? PyObject_CallMethod(mod, "error", "iOiy", -rc, path, (int)pl_call.holder, msg)
		   : NULL;
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
%typemap(argout) pidlock_waiter **ret {
	$result = SWIG_Python_AppendOutput($result,
		SWIG_NewPointerObj(*$1, $*1_descriptor, SWIG_POINTER_OWN));
}
%typemap(argout) (char *buf, size_t size) {
	$result = SWIG_Python_AppendOutput($result, PyBytes_FromString($1));
}
/* Only acquire can take long (a wait, an fsync); only it gives up the GIL (-threads). */
%nothread;
%thread pidlock_acquire;

#elif defined(SWIGLUA)
%{
/* io.open's convention: nil, message, errno; plus the holder's PID for a held lock. */
static int pl_push_error(lua_State *L, int rc)
{
	char msg[PATH_MAX + 1024];

	pidlock_message(msg, sizeof msg, rc, pl_call.path, pl_call.holder);
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

/* Lua has no monotonic clock of its own; a wait cut into interruptible pieces needs one. */
static double pl_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
%}
%rename(monotonic) pl_monotonic;
double pl_monotonic(void);

/* The codes a Lua caller compares the third result with (Lua has no errno table). Python
 * has its errno module. */
%constant int EAGAIN = EAGAIN;
%constant int EBADFD = EBADFD;
%constant int EBUSY = EBUSY;
%constant int ECHILD = ECHILD;
%constant int EINTR = EINTR;
%constant int EINVAL = EINVAL;
%constant int EPERM = EPERM;

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
%typemap(argout) pidlock_waiter **ret {
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

/* ---- the C API: the header itself ---- */

%apply (char *buf, size_t size) { (char *why, size_t size) };

%apply int PL_STATUS_VOID {
	int pidlock_acquire, int pidlock_release, int pidlock_update, int pidlock_check,
	int pidlock_default_path, int pidlock_path_for_dir, int pidlock_waiter_new,
	int pl_waiter_try, int pl_check_path
};
%apply int PL_STATUS {
	int pidlock_holder, int pidlock_holds, int pidlock_read_pid, int pidlock_fd,
	int pidlock_waiter_fd
};

%include "pidlock.h"

int pl_waiter_try(pidlock_waiter *waiter, const char *path, pidlock **ret_lock,
		  pid_t *ret_holder);
int pl_check_path(const char *path, char *why, size_t size);
