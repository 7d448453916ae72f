/* Debian ships Check only for glibc. Its static libcheck.a links into a musl program once the
 * glibc-only entry points it calls exist: the _FORTIFY_SOURCE wrappers (same work, minus the
 * buffer-size check) and the pthread_cleanup_push/pop bookkeeping (Check never cancels a
 * thread, so nothing is lost by doing none). Used by scripts/other-builds only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

int __vfprintf_chk(FILE *f, int flag, const char *fmt, va_list ap);
int __fprintf_chk(FILE *f, int flag, const char *fmt, ...);
int __printf_chk(int flag, const char *fmt, ...);
int __vsnprintf_chk(char *s, size_t n, int flag, size_t slen, const char *fmt, va_list ap);
int __snprintf_chk(char *s, size_t n, int flag, size_t slen, const char *fmt, ...);
_Noreturn void __longjmp_chk(jmp_buf env, int val);
void __pthread_register_cancel(void *buf);
void __pthread_unregister_cancel(void *buf);

int __vfprintf_chk(FILE *f, int flag, const char *fmt, va_list ap)
{
	(void)flag;
	return vfprintf(f, fmt, ap);
}

int __fprintf_chk(FILE *f, int flag, const char *fmt, ...)
{
	va_list ap;
	int r;

	(void)flag;
	va_start(ap, fmt);
	r = vfprintf(f, fmt, ap);
	va_end(ap);
	return r;
}

int __printf_chk(int flag, const char *fmt, ...)
{
	va_list ap;
	int r;

	(void)flag;
	va_start(ap, fmt);
	r = vprintf(fmt, ap);
	va_end(ap);
	return r;
}

int __vsnprintf_chk(char *s, size_t n, int flag, size_t slen, const char *fmt, va_list ap)
{
	(void)flag;
	(void)slen;
	return vsnprintf(s, n, fmt, ap);
}

int __snprintf_chk(char *s, size_t n, int flag, size_t slen, const char *fmt, ...)
{
	va_list ap;
	int r;

	(void)flag;
	(void)slen;
	va_start(ap, fmt);
	r = vsnprintf(s, n, fmt, ap);
	va_end(ap);
	return r;
}

_Noreturn void __longjmp_chk(jmp_buf env, int val)
{
	longjmp(env, val);
}

void __pthread_register_cancel(void *buf)
{
	(void)buf;
}

void __pthread_unregister_cancel(void *buf)
{
	(void)buf;
}
