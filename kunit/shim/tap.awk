# SPDX-License-Identifier: GPL-2.0
#
# Joins the TAP output of several test programs into one stream: tests
# numbered in order, one plan at the end.  A line "exit STATUS NAME" after
# each program turns a non-zero status that no failed test explains (a
# crash, a sanitizer report) into a failed test of its own.  Other output
# becomes "# " diagnostics.  Exits 1 on any failure.

/^(not )?ok [0-9]+ / {
	n++
	not = ($1 == "not")
	failed += not
	prog_failed += not
	sub(/^(not )?ok [0-9]+/, (not ? "not ok " : "ok ") n)
	print
	next
}

/^1\.\.[0-9]+$/ { next }

/^exit [0-9]+ / {
	if ($2 != 0 && !prog_failed) {
		n++
		failed++
		name = $0
		sub(/^exit [0-9]+ /, "", name)
		print "not ok " n " - " name " exited with status " $2
	}
	prog_failed = 0
	next
}

/^#/ { print; next }

{ print "# " $0 }

END {
	print "1.." n
	exit failed != 0
}
