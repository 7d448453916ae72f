#!/bin/sh
# Who holds the lock: `stop` signals, and `status` prints, only a
# process the kernel shows holding the lock on that very file; the PID in the file is a hint.
# Usage: holders.sh PIDLOCK
PIDLOCK=${1:?}
. "$(dirname "$0")/lib.sh"
f=$work/app/daemon.lock

# A victim: a live process that has nothing to do with the lock and ignores SIGTERM, so a
# wrong `stop` would escalate to SIGKILL.
victim() {
	sh -c 'trap "" TERM; exec sleep 60' &
	victim=$!
	remember "$victim"
}
alive() { kill -0 "$1" 2>/dev/null; }
file_says() { [ "$(cat "$1" 2>/dev/null)" = "$2" ]; }

# 1. A holder that writes an unrelated live PID into its own file.
victim
"$PIDLOCK" run "$f" -- sh -c "echo $victim >'$f'; exec sleep 60" &
holder=$!
remember "$holder"
until_ok file_says "$f" "$victim"
expect 0 "$PIDLOCK" status "$f"
[ -z "$out" ] || fail "status printed '$out', a PID that does not hold the lock"
expect_err "pidlock: $f: running, but the file names PID $victim, which does not hold the lock (a PID of another PID namespace, or a label that is not the holder's)"
expect 4 "$PIDLOCK" stop --timeout 0.2 "$f"
expect_err_has "nothing signalled"
alive "$victim" || fail "stop signalled PID $victim, which never held the lock"
alive "$holder" || fail "the holder died"
kill "$holder" "$victim"
wait "$holder" 2>/dev/null || true
rm -f "$f"

# 2. A wall-clock step, either way, changes neither the holder reported nor stop.
start sleep 60
for when in '-1 hour' '+1 hour' '-400 days'; do
	touch -d "$when" "$f"
	expect 0 "$PIDLOCK" status "$f"
	[ "$out" = "$pid" ] || fail "after an mtime of '$when' status printed '$out', not $pid"
done
expect 0 "$PIDLOCK" stop "$f"
reap "$pid" 143

# 3. Another user's file in another user's directory naming one of root's processes: root's
# stop refuses (not safe), and root's process lives.
if as_nobody true; then
	victim
	mkdir -m 0755 "$work/nobody"
	chown nobody "$work/nobody"
	chmod 0755 "$work"
	# exec: $! must be the holder itself, not a subshell running the as_nobody function
	(exec setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
		"$(other_user_copy)" run "$work/nobody/daemon.lock" -- sh -c \
		"echo $victim >'$work/nobody/daemon.lock'; exec sleep 60") &
	holder=$!
	remember "$holder"
	until_ok file_says "$work/nobody/daemon.lock" "$victim"
	expect 4 "$PIDLOCK" stop --timeout 0.2 "$work/nobody/daemon.lock"
	expect_err "pidlock: $work/nobody/daemon.lock: not safe from other users: directory $work/nobody belongs to uid $(id -u nobody), not to root or the caller"
	expect 4 "$PIDLOCK" status "$work/nobody/daemon.lock"
	[ -z "$out" ] || fail "status printed '$out' for another user's file"
	alive "$victim" || fail "root's stop killed root's process through nobody's file"
	kill "$holder" "$victim"
	wait "$holder" 2>/dev/null || true
else
	echo "skipped: another user's file (not root, or no setpriv)"
fi

# 4. A daemon in a child PID namespace writes its own PID (2): from here that number is
# another process, which must be neither printed nor signalled.
if [ "$(id -u)" = 0 ] && unshare --pid --fork --mount-proc true 2>/dev/null; then
	unshare --pid --fork --kill-child --mount-proc sh -c "'$PIDLOCK' run '$f' -- sleep 60; :" &
	ns=$!
	remember "$ns"
	until_ok file_says "$f" 2
	expect 0 "$PIDLOCK" status "$f"
	[ -z "$out" ] || fail "status printed '$out': PID 2 of another namespace"
	expect_err_has "names PID 2, which does not hold the lock"
	before=$(cut -d' ' -f22 /proc/2/stat)
	expect 4 "$PIDLOCK" stop --timeout 0.2 "$f"
	[ "$(cut -d' ' -f22 /proc/2/stat)" = "$before" ] || fail "PID 2 of this namespace changed"
	kill -KILL "$ns"
	wait "$ns" 2>/dev/null || true
else
	echo "skipped: a child PID namespace (needs root and unshare)"
fi
# 5. A helper that the command started as another user without closing descriptors (setpriv,
# runuser, su do not close them) inherits a copy of the lock's descriptor and writes its own
# PID through it. It is not the holder: status does not print it, stop does not signal it.
if as_nobody true && command -v perl >/dev/null; then
	mkdir -m 1777 "$work/helper"
	chmod 0755 "$work"
	# perl: a write at offset 0 through the inherited descriptor, as pwrite() would; the
	# descriptor is kept open (@keep) while it sleeps.
	relabel='for (glob "/proc/self/fd/*") { next unless (readlink($_) // "") eq $ARGV[0];
		my ($n) = m{(\d+)$}; open(my $fh, "+<&=", $n) or next; sysseek($fh, 0, 0);
		syswrite($fh, "$$\n"); truncate($fh, length("$$\n")); push @keep, $fh; }
		open(my $o, ">", $ARGV[1]) or die "$ARGV[1]: $!"; print $o "$$\n"; close $o;
		sleep 60;'
	"$PIDLOCK" run "$f" -- sh -c 'setpriv --reuid=nobody --regid=nogroup --clear-groups \
		perl -e "$0" "$1" "$2" & exec sleep 60' "$relabel" "$f" "$work/helper/pid" &
	holder=$!
	remember "$holder"
	until_ok test -s "$work/helper/pid"
	helper=$(cat "$work/helper/pid")
	remember "$helper"
	until_ok file_says "$f" "$helper"
	expect 0 "$PIDLOCK" status "$f"
	[ -z "$out" ] || fail "status printed '$out': the helper $helper only inherited the lock"
	expect 4 "$PIDLOCK" stop --timeout 0.2 "$f"
	alive "$helper" || fail "stop signalled the helper $helper, which only inherited the lock"
	alive "$holder" || fail "the holder died"
	kill "$holder" "$helper" 2>/dev/null || true
	wait "$holder" 2>/dev/null || true
	rm -f "$f"
else
	echo "skipped: a helper that inherited the descriptor (needs root, setpriv and perl)"
fi

# 6. File systems where the device in a lock line is not the one stat() gives: a btrfs
# subvolume, and an overlay with a tmpfs upper layer over another file system. status prints,
# and stop signals, the holder there as anywhere. Mounts are undone on every way out.
mounts=""
unmount_all() {
	for p in $started; do
		kill -KILL "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	for m in $mounts; do # innermost first: each was put in front
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	cleanup
}
trap unmount_all EXIT
mounted() { mounts="$1 $mounts"; }
holder_found_on() { # DIR WHAT: a holder of DIR/daemon.lock is printed and stopped
	f=$1/daemon.lock
	start sleep 60
	expect 0 "$PIDLOCK" status "$f"
	[ "$out" = "$pid" ] || fail "on $2 status printed '$out', not the holder $pid; $err"
	expect 0 "$PIDLOCK" stop "$f"
	reap "$pid" 143
}
can_mount() { [ "$(id -u)" = 0 ] && grep -qw "$1" /proc/filesystems; }

if can_mount btrfs && command -v mkfs.btrfs >/dev/null && command -v btrfs >/dev/null; then
	mkdir "$work/btrfs"
	truncate -s 128M "$work/btrfs.img"
	mkfs.btrfs -q "$work/btrfs.img" >/dev/null
	mount -o loop "$work/btrfs.img" "$work/btrfs" || fail "cannot mount a btrfs image"
	mounted "$work/btrfs" # a loop mount: unmounting frees the loop device too
	btrfs -q subvolume create "$work/btrfs/sub" >/dev/null
	holder_found_on "$work/btrfs" "btrfs"
	holder_found_on "$work/btrfs/sub" "a btrfs subvolume"
else
	echo "skipped: btrfs (needs root, a kernel with btrfs, and mkfs.btrfs)"
fi

if can_mount overlay && can_mount tmpfs; then
	mkdir "$work/lower" "$work/upper" "$work/overlay"
	mount -t tmpfs -o mode=0755 tmpfs "$work/upper" || fail "cannot mount a tmpfs"
	mounted "$work/upper"
	mkdir "$work/upper/data" "$work/upper/work"
	mount -t overlay overlay \
		-o "lowerdir=$work/lower,upperdir=$work/upper/data,workdir=$work/upper/work" \
		"$work/overlay" || fail "cannot mount an overlay"
	mounted "$work/overlay"
	chmod 0755 "$work/overlay"
	holder_found_on "$work/overlay" "overlayfs"
else
	echo "skipped: overlayfs (needs root and a kernel with overlay and tmpfs)"
fi
echo ok
