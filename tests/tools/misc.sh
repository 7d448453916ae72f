#!/bin/sh
# pidlock path, --help, --version and top-level usage. Usage: misc.sh PIDLOCK VERSION
PIDLOCK=${1:?}
. "$(dirname "$0")/lib.sh"
VERSION=${2:?}

# The default path is one per effective user, whatever the environment the daemon is started
# from: a login shell or ssh (XDG_RUNTIME_DIR, HOME), cron (almost nothing), sudo (the caller's
# HOME kept), a systemd service (HOME, no XDG). One answer everywhere, or a second instance
# starts from the other environment.
same_path_everywhere() { # WANT PROGRAM [RUNNER...]: every environment prints WANT
	wanted=$1
	prog=$2
	shift 2
	for envset in "XDG_RUNTIME_DIR=/run/user/1234 HOME=/home/someone" \
		"XDG_RUNTIME_DIR=/run/user/0 HOME=/root" "HOME=/root" "XDG_DATA_HOME=/data HOME=/x" \
		"PATH=/usr/bin:/bin"; do
		# shellcheck disable=SC2086
		expect 0 "$@" env -i $envset "$prog" path myapp
		[ "$out" = "$wanted" ] || fail "path in '$envset' gave '$out', elsewhere '$wanted'"
	done
}
if [ "$(id -u)" = 0 ]; then
	same_path_everywhere /run/myapp/daemon.lock "$PIDLOCK"
	if command -v setpriv >/dev/null; then
		home=$(getent passwd nobody | cut -d: -f6)
		same_path_everywhere "$home/.local/share/myapp/daemon.lock" "$(other_user_copy)" \
			setpriv --reuid=nobody --regid=nogroup --clear-groups
	else
		echo "skipped the other user's default path: no setpriv"
	fi
else
	home=$(getent passwd "$(id -u)" | cut -d: -f6)
	same_path_everywhere "$home/.local/share/myapp/daemon.lock" "$PIDLOCK"
fi
# A user private group (what `useradd -U` makes, the default on Debian, Ubuntu and Fedora)
# with the login umask 002 that goes with it: only the user is in the group, so the user's
# 0775 directories are safe and the default path works. A directory whose group has another
# member stays refused.
users=""
drop_users() {
	for u in $users; do
		userdel -r "$u" 2>/dev/null || true
	done
	groupdel pidlock-shared 2>/dev/null || true
	cleanup
}
if [ "$(id -u)" = 0 ] && command -v useradd >/dev/null && command -v setpriv >/dev/null; then
	trap drop_users EXIT
	upg=pidlock-upg$$ other=pidlock-oth$$
	users="$upg $other"
	useradd -m -U -s /bin/sh "$upg"
	useradd -M -U -s /bin/sh "$other"
	home=$(getent passwd "$upg" | cut -d: -f6)
	prog=$(other_user_copy)
	as_user() { setpriv --reuid="$upg" --regid="$upg" --init-groups --inh-caps=-all "$@"; }
	expect 0 as_user sh -c "umask 002; mkdir -p '$home/.local/share' '$home/app'"
	[ "$(stat -c %a "$home/.local")" = 775 ] || fail "umask 002 did not make $home/.local 0775"
	expect 0 as_user sh -c "'$prog' run \"\$('$prog' path myapp)\" -- true"
	expect 0 as_user "$prog" run "$home/app/daemon.lock" -- true
	groupadd pidlock-shared
	usermod -a -G pidlock-shared "$upg"
	usermod -a -G pidlock-shared "$other"
	chgrp pidlock-shared "$home/app"
	expect 125 as_user "$prog" run "$home/app/daemon.lock" -- true
	expect_err_has "directory $home/app is writable by group $(getent group pidlock-shared | cut -d: -f3), which users other than root and the caller may be in (mode 0775) and not sticky"
	# The private group with a second member is a shared group too.
	chgrp "$upg" "$home/app"
	usermod -a -G "$upg" "$other"
	expect 125 as_user "$prog" run "$home/app/daemon.lock" -- true
	expect_err_has "directory $home/app is writable by group"
else
	echo "skipped a user private group's paths: needs root, useradd and setpriv"
fi

expect 1 "$PIDLOCK" path a/b
expect_err "pidlock: a/b: Invalid argument"
expect 1 "$PIDLOCK" path ..
expect 2 "$PIDLOCK" path
expect 2 "$PIDLOCK" path a b

expect 0 "$PIDLOCK" --help
case $out in
"Usage: pidlock run [--wait[=SECONDS]] [--check-pid] [--keep] [--readable] PATH -- COMMAND [ARG...]"*) ;;
*) fail "--help printed: $out" ;;
esac
for sub in run status stop path; do
	expect 0 "$PIDLOCK" "$sub" --help
done

# The version of the command and of the library it actually loaded.
expect 0 "$PIDLOCK" --version
case $out in
"pidlock $VERSION (libpidlock $VERSION, ofd locks)" | "pidlock $VERSION (libpidlock $VERSION, flock locks)") ;;
*) fail "--version printed '$out'" ;;
esac

expect 2 "$PIDLOCK"
expect_err_has "missing command"
expect 2 "$PIDLOCK" frobnicate
expect_err_has "unknown command 'frobnicate'"
if [ -w /dev/full ]; then
	got=0
	"$PIDLOCK" --version >/dev/full 2>/dev/null || got=$?
	[ "$got" = 1 ] || fail "--version into a full disk exited $got"
fi
echo "ok"
