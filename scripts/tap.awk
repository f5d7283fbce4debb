# SPDX-License-Identifier: GPL-2.0
#
# The one TAP reader of scripts/check.sh: kselftest's TAP 13, KTAP
# (KUnit, kunit/shim), check.sh's own "ok - WHAT" lines and Rust's
# libtest ("test NAME ... ok|FAILED|ignored", unindented). Prints one
# result per test without subtests, "ok - PROGRAM: TEST" or "not ok -
# PROGRAM: SUITE.CASE.PARAM" (parents joined with dots, as kunit.py does).
# Numbers are optional, subtests indented; a "KTAP version 1" or "TAP
# version 13" line starts a document; other lines are skipped. A program
# fails, besides its tests, when a plan promises more tests than follow,
# when it exits non-zero with no test failed, or when it does not finish;
# with a name and no results at all, it passes if it exits 0. A failure
# shows the program's last 40 lines as "# " diagnostics.
#
# Usage: awk -f scripts/tap.awk [-v VARIABLE=VALUE]... [FILE]
#   name=PROGRAM  the program that printed the input (none: no prefix)
#   rc=STATUS     its exit status
#   progs="P..."  programs run one after the other, each between lines
#                 "@@msgpool-check: run P@@" and
#                 "@@msgpool-check: exit P STATUS@@"; one not run fails
#   dmesg=1       a kernel log: only lines with a timestamp, without it
#   tap=FILE      the results of suite NAME, numbered, with its "#" lines,
#                 to FILE as TAP 13; prints "PASSED FAILED". A suite
#                 without results fails.

BEGIN {
	if (tap != "")
		print "TAP version 13" >tap
	nwant = split(progs, want, " ")
	if (!nwant)
		start(name, rc)
}

{ sub(/\r$/, "") }

dmesg && !sub(/^\[ *[0-9]+\.[0-9]+\] ?/, "") { next }

nwant && /@@msgpool-check: (run [^ @]+|exit [^ @]+ -?[0-9]+)@@/ {
	split($0, marker, "@@")
	split(marker[2], word, " ")	# msgpool-check: run|exit PROG [STATUS]
	status = word[4] + 0
	if (inprog)
		finish(word[2] == "exit")
	if (word[2] == "run")
		start(word[3], 0)
	ran[word[3]] = 1
	next
}

inprog { line($0) }

END {
	if (inprog)
		finish(!nwant)
	for (i = 1; i <= nwant; i++)
		if (!(want[i] in ran))
			emit(0, want[i] ": did not run")
	if (tap != "") {
		print "1.." nres >tap
		print nres - nfailed, nfailed
	}
}

# A program's output begins: its name, the exit status it will have.
function start(prog, st) {
	inprog = 1
	cur = prog
	status = st + 0
	prefix = (cur == "" || tap != "") ? "" : cur ": "
	nres = nfailed = ntail = 0
}

function line(l,    ind, body, ok) {
	tail[++ntail % 40] = l
	match(l, /^ */)
	ind = RLENGTH
	body = substr(l, ind + 1)
	if (body ~ /^K?TAP version [0-9]+$/) {
		if (ind == 0)
			enddoc()
	} else if (body ~ /^1\.\.[0-9]+/) {
		plan[ind] = substr(body, 4) + 0
		cnt[ind] += 0
	} else if (body ~ /^(not )?ok( [0-9]+)?( |$)/) {
		ok = body !~ /^not /
		sub(/^(not )?ok( [0-9]+)?( - | -$| |$)/, "", body)
		result(ind, ok, body)
	} else if (!ind && body ~ /^test [^ ]+ \.\.\. (ok|FAILED|ignored)$/) {
		ok = body !~ /FAILED$/
		sub(/^test /, "", body)
		sub(/ \.\.\. ok$/, "", body)
		sub(/ \.\.\. FAILED$/, "", body)
		sub(/ \.\.\. ignored$/, " # SKIP ignored", body)
		result(0, ok, body)
	} else if (body ~ /^# Subtest: /) {
		subname[ind] = substr(body, 12)
		cnt[ind] += 0
	} else if (body ~ /^Bail out!/) {
		add(ind, 0, body)
	} else if (tap != "" && l ~ /^#/) {
		print l >tap
	}
}

# Results wait in e_name[1..n], e_ok[], e_ind[] (the indentation they
# were found at) until their parents' results name them.
function add(ind, ok, desc) {
	e_name[++n] = desc
	e_ok[n] = ok
	e_ind[n] = ind
}

# A result closes the subtests indented deeper than it: they become its
# children, or, if there are none, it stands for itself.
function result(ind, ok, desc,    base, m, i, j, kids, failed) {
	base = desc
	sub(/ # .*/, "", base)
	for (i = n; i > 0 && e_ind[i] > ind; i--)
		;
	kids = n - i
	failed = 0
	for (j = i + 1; j <= n; j++) {
		e_name[j] = base "." e_name[j]
		e_ind[j] = ind
		failed += !e_ok[j]
	}
	for (m in cnt)
		if (m + 0 > ind) {
			if (plan[m] > cnt[m])
				add(ind, 0, base ": planned " plan[m] \
				    " tests, ran " cnt[m])
			plan[m] = cnt[m] = 0
			subname[m] = ""
		}
	if (!kids)
		add(ind, ok, desc)
	else if (!ok && !failed)
		add(ind, 0, desc)	# failed where none of its subtests did
	cnt[ind]++
	if (ind == 0)
		flush()
}

# The subtests at indentation m's level of nesting, as "a.b", from the
# "# Subtest:" lines of those not closed yet.
function path(m,    l, s) {
	s = ""
	for (l = 1; l <= m; l++)
		if (subname[l] != "")
			s = s (s == "" ? "" : ".") subname[l]
	return s
}

# A document ends: what has no parent result keeps the names its
# "# Subtest:" lines give it, and every plan not met fails.
function enddoc(    m, i, p) {
	for (m in cnt)
		if (plan[m] > cnt[m]) {
			p = path(m)
			add(0, 0, (p == "" ? "" : p ": ") "planned " plan[m] \
			    " tests, ran " cnt[m])
		}
	for (i = 1; i <= n; i++)
		if (e_ind[i] > 0 && (p = path(e_ind[i])) != "")
			e_name[i] = p "." e_name[i]
	flush()
	for (m in cnt)
		plan[m] = cnt[m] = 0
	for (m in subname)
		subname[m] = ""
}

function flush(    i) {
	for (i = 1; i <= n; i++)
		emit(e_ok[i], prefix e_name[i])
	n = 0
}

function emit(ok, desc) {
	nres++
	nfailed += !ok
	if (tap == "")
		print (ok ? "ok - " : "not ok - ") desc
	else
		print (ok ? "ok " : "not ok ") nres " - " desc >tap
}

# A program's output ends, finished (its exit status known) or not.
function finish(finished,    i) {
	enddoc()
	inprog = 0
	if (!finished)
		emit(0, prefix "did not finish")
	else if (status != 0 && !nfailed)
		emit(0, prefix "exit status " status)
	else if (!nres && (cur == "" || tap != ""))
		emit(0, cur == "" ? "no results" : cur " produced no results")
	else if (!nres)
		emit(status == 0, cur)
	if (tap == "" && nfailed)
		for (i = ntail > 40 ? ntail - 39 : 1; i <= ntail; i++)
			print "# " tail[i % 40]
}
