#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn test output into unnumbered TAP result lines for scripts/check.sh.

Every command prints lines "ok - NAME", "not ok - NAME" or "# text" on
stdout; check.sh numbers them and counts them.

  tap.py log NAME RC LOG      TAP results found in LOG, from one command
                              that exited with RC
  tap.py progs LOG PROG...    output of programs run in a VM between
                              "@@msgpool-check: run|exit" markers
  tap.py kunit NAME JSON      results of `kunit.py parse --json`
  tap.py ktap CONSOLE         the KTAP a test module printed, from a
                              scripts/vm-run.sh console log, with the
                              top-level header kunit.py needs
"""

import json
import re
import sys

RESULT = re.compile(r'^(not ok|ok)\s+(\d+)\b\s*(?:-\s*)?(.*)$')
PLAN = re.compile(r'^1\.\.(\d+)')
RUN = re.compile(r'@@msgpool-check: run (\S+)@@')
EXIT = re.compile(r'@@msgpool-check: exit (\S+) (-?\d+)@@')


def emit(ok, name):
    print(('ok - ' if ok else 'not ok - ') + name)


def results(name, rc, lines, finished=True):
    """Print the top-level results in lines, then what the exit says."""
    planned = ran = failed = 0
    for line in lines:
        m = RESULT.match(line)
        if m:
            ran += 1
            ok = m.group(1) == 'ok'
            failed += not ok
            emit(ok, '%s: %s' % (name, m.group(3) or m.group(2)))
            continue
        m = PLAN.match(line)
        if m:
            planned += int(m.group(1))
    if not finished:
        emit(False, '%s: did not finish' % name)
    elif planned > ran:
        emit(False, '%s: planned %d tests, %d ran' % (name, planned, ran))
    elif rc != 0 and not failed:
        emit(False, '%s: exit status %d' % (name, rc))
    elif not ran:
        emit(rc == 0, name)
    if failed or rc != 0 or not finished:
        for line in lines[-40:]:
            print('# ' + line)


def cmd_log(name, rc, path):
    with open(path, errors='replace') as f:
        results(name, int(rc), f.read().splitlines())


def cmd_progs(path, progs):
    segments = {}
    current = None
    with open(path, errors='replace') as f:
        for line in f.read().splitlines():
            m = EXIT.search(line)
            if m and current is not None:
                head = line[:m.start()]
                if head:
                    segments[current][0].append(head)
                segments[current][1] = int(m.group(2))
                current = None
                continue
            m = RUN.search(line)
            if m:
                current = m.group(1)
                segments[current] = [[], None]
                continue
            if current is not None:
                segments[current][0].append(line)
    for prog in progs:
        if prog not in segments:
            emit(False, '%s: did not run' % prog)
            continue
        lines, rc = segments[prog]
        results(prog, rc or 0, lines, rc is not None)


def cases(group, prefix):
    name = group.get('name', '')
    path = prefix + [name] if name and prefix is not None else []
    for case in group.get('test_cases', []):
        yield '.'.join(path + [case['name']]), case['status']
    for sub in group.get('sub_groups', []):
        yield from cases(sub, path)


def cmd_kunit(name, path):
    try:
        with open(path) as f:
            root = json.load(f)
    except (OSError, ValueError) as e:
        emit(False, '%s: no parsed results (%s)' % (name, e))
        return
    found = False
    for case, status in cases(root, None):
        suffix = ' # SKIP' if status == 'SKIP' else ''
        emit(status in ('PASS', 'SKIP'), case + suffix)
        found = True
    if not found:
        emit(False, '%s: KUnit results' % name)


STAMP = re.compile(r'^\[\s*\d+\.\d+\] ?')
HEADER = re.compile(r'^(\s*)K?TAP version \d+$')


def cmd_ktap(path):
    """Print the KTAP of the suites a module ran, as one document.

    The kernel's own (empty) KUnit run at boot prints a header and "1..0";
    the suites of a module follow as indented subtests with top-level
    results but, in 6.1, no top-level header of their own.
    """
    with open(path, errors='replace') as f:
        text = f.read().split('@@msgpool-vm: kernel log@@', 1)[-1]
    lines = [STAMP.sub('', l) for l in text.splitlines() if STAMP.match(l)]
    start = None
    for i, line in enumerate(lines):
        m = HEADER.match(line)
        if not m:
            continue
        if not m.group(1) and i + 1 < len(lines) and \
                lines[i + 1].strip() == '1..0':
            continue
        start = i
        break
    if start is None:
        return
    body = lines[start:]
    if not HEADER.match(body[0]).group(1):
        print('\n'.join(body))
        return
    ran = sum(1 for l in body if RESULT.match(l))
    print('KTAP version 1\n1..%d' % ran)
    print('\n'.join(body))


def main(argv):
    if len(argv) == 5 and argv[1] == 'log':
        cmd_log(argv[2], argv[3], argv[4])
    elif len(argv) >= 3 and argv[1] == 'progs':
        cmd_progs(argv[2], argv[3:])
    elif len(argv) == 4 and argv[1] == 'kunit':
        cmd_kunit(argv[2], argv[3])
    elif len(argv) == 3 and argv[1] == 'ktap':
        cmd_ktap(argv[2])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
